# Respite: the README's two commands are `make run` and `make test`; this file does all
# the set-up they need on a fresh Debian machine.

SWIFT      ?= swift
CONFIG     ?= etc/respite.cfg
APT_DEPS   := liburcu-dev sip-tester python3
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
REPORT     ?= bench-report.txt

.PHONY: all deps build run test bench fmt clean conformance-kamailio

all: build

# Installs the Debian packages the build, the tests and the benchmarks need, when missing.
deps:
	@missing=""; for p in $(APT_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Starts the server on the default config (127.0.0.1:5060) in the foreground.
run: build
	.build/debug/respite -f $(CONFIG) -DD -E

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	python3 Tests/Conformance/run.py --server respite
	python3 Tests/Conformance/run.py --server respite --cases examples

# The same conformance cases against Kamailio 5.6 (apt-get install kamailio), so that
# every expectation is checked against the real thing.
conformance-kamailio:
	python3 Tests/Conformance/run.py --server kamailio
	python3 Tests/Conformance/run.py --server kamailio --cases examples

# Release builds of every benchmark; one result line each, collected in $(REPORT).
bench: deps
	$(SWIFT) build -c release
	@{ echo "# respite benchmarks $$(date -u +%FT%TZ) on $$(nproc) cores"; \
	  .build/release/respite-bench-handoff; \
	  .build/release/respite-bench-sip; \
	  Benchmarks/compare/run.sh; \
	  Benchmarks/compare/async.sh; \
	} | tee $(REPORT)

# One formatter configuration each: .swift-format and .clang-format.
fmt:
	@command -v clang-format >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format
	clang-format -i CShared/*.c CShared/*.h CShared/include/*.h
	$(SWIFT) format -i -r Sources Tests Benchmarks Package.swift

clean:
	$(SWIFT) package clean
