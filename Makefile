# Respite: the README's two commands are `make run` and `make test`; this file does all
# the set-up they need on a fresh Debian machine.

SWIFT      ?= swift
CONFIG     ?= etc/respite.cfg
APT_DEPS   := liburcu-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libpq-dev libssl-dev sip-tester python3
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
REPORT     ?= bench-report.txt

.PHONY: all deps test-deps build run test bench fmt clean conformance-kamailio fuzz release install

all: build

# Installs the Debian packages the build, the tests and the benchmarks need, when missing.
deps:
	@missing=""; for p in $(APT_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Debian's kamailio package, for the RPC tests (its kamcmd talks to Respite's ctl, and the
# same calls are compared with Kamailio's answers). Installed without starting its service,
# which would take port 5060: a policy-rc.d refuses every start during the install.
# PostgreSQL's server (the database tests make a throw-away cluster with initdb), sqlite3,
# and Kamailio's SQLite and PostgreSQL drivers (the database tests run both servers).
TEST_APT_DEPS := kamailio kamailio-sqlite-modules kamailio-postgres-modules postgresql sqlite3
test-deps: deps
	@missing=""; for p in $(TEST_APT_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing (kamailio's and postgresql's services are not started)"; \
	  guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=yes; \
	    printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null; $(SUDO) chmod +x /usr/sbin/policy-rc.d; fi; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; rc=$$?; \
	  [ -n "$$guard" ] && $(SUDO) rm -f /usr/sbin/policy-rc.d; \
	  $(SUDO) systemctl disable --now kamailio postgresql >/dev/null 2>&1 || true; \
	  exit $$rc; \
	fi

build: deps
	$(SWIFT) build

# Release binaries that carry the Swift runtime (--static-swift-stdlib), so that an
# installed respite needs no Swift toolchain; the system libraries it links (curl, jansson,
# urcu, sqlite3, libpq) come from the distribution. Fails if a toolchain library is still linked.
RELEASE_DIR := .build/release
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product respite
	$(SWIFT) build -c release --static-swift-stdlib --product respite-shm
	$(SWIFT) build -c release --static-swift-stdlib --product respite-db
	@for b in respite respite-shm respite-db; do \
	  if ldd $(RELEASE_DIR)/$$b | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime'; then \
	    echo "$$b still links the Swift toolchain's libraries (above)"; exit 1; fi; \
	done

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: binaries, the default config (kept when
# one exists), the systemd unit and its settings file, the man pages. With PREFIX=/usr
# the config goes to /etc, as a distribution puts it; else under PREFIX/etc.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MANDIR     ?= $(PREFIX)/share/man
install: release
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/respite $(DESTDIR)$(SYSCONFDIR)/default \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(RELEASE_DIR)/respite $(RELEASE_DIR)/respite-shm $(RELEASE_DIR)/respite-db $(DESTDIR)$(BINDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/respite/respite.cfg ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/respite/respite.cfg (the default is etc/respite.cfg)"; \
	else install -m 0644 etc/respite.cfg $(DESTDIR)$(SYSCONFDIR)/respite/respite.cfg; fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/respite ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/respite"; \
	else install -m 0644 etc/systemd/respite.default $(DESTDIR)$(SYSCONFDIR)/default/respite; fi
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' etc/systemd/respite.service.in \
	  > $(DESTDIR)$(UNITDIR)/respite.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/respite.service
	install -m 0644 man/respite.8 man/respite-shm.8 man/respite-db.8 $(DESTDIR)$(MANDIR)/man8/

# Starts the server on the default config (127.0.0.1:5060) in the foreground.
run: build
	.build/debug/respite -f $(CONFIG) -DD -E

test: test-deps
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
bench: test-deps
	$(SWIFT) build -c release
	@{ echo "# respite benchmarks $$(date -u +%FT%TZ) on $$(nproc) cores"; \
	  .build/release/respite-bench-handoff; \
	  .build/release/respite-bench-sip; \
	  Benchmarks/compare/run.sh; \
	  Benchmarks/compare/async.sh; \
	  Benchmarks/http/http.sh; \
	  python3 Benchmarks/tcp/bench.py; \
	  python3 Benchmarks/rpc/bench.py; \
	  python3 Benchmarks/stockcfg/bench.py; \
	  python3 Benchmarks/databases/bench.py; \
	} | tee $(REPORT)

# libFuzzer targets (Fuzz/README.md), built with swiftc -sanitize=fuzzer; each runs
# FUZZ_SECONDS on its seed corpus Fuzz/corpus/<target>, which `make test` replays. New inputs
# go to .build/fuzz/corpus-<target>, failing ones to .build/fuzz/artifacts/ (and fail the run).
SWIFTC       ?= swiftc
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config sip
FUZZ_DIR     := .build/fuzz
FUZZ_SWIFTC  := $(SWIFTC) -O -sanitize=fuzzer -parse-as-library
SCRIPT_TEST_SUPPORT := Tests/ScriptTests/ConfigFuzzTarget.swift Tests/ScriptTests/TestRegistry.swift \
                       Tests/ScriptTests/TestRegistry+Async.swift Tests/ScriptTests/TestHost.swift

fuzz: $(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/fuzz-$(t))
	@mkdir -p $(FUZZ_DIR)/artifacts
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t; \
	  echo "fuzz-$$t: $(FUZZ_SECONDS) s"; \
	  dict=; [ -f Fuzz/$$t/$$t.dict ] && dict=-dict=Fuzz/$$t/$$t.dict; \
	  SWIFT_BACKTRACE=enable=no $(FUZZ_DIR)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=5 -max_len=8192 -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_DIR)/corpus-$$t Fuzz/corpus/$$t \
	    2>&1 | grep -E "^(INFO: Seed|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::slowest_unit_time_sec|stat::peak_rss_mb)|Fatal error|ERROR|SUMMARY|Test unit written" \
	    || true; \
	  if ls $(FUZZ_DIR)/artifacts/$$t-* >/dev/null 2>&1; then echo "fuzz-$$t: inputs that failed are in $(FUZZ_DIR)/artifacts (make each a corpus file once fixed, then remove it)"; exit 1; fi; \
	done

$(FUZZ_DIR)/Script.o: Sources/Script/*.swift
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_SWIFTC) -wmo -module-name Script -emit-module -emit-module-path $(FUZZ_DIR)/Script.swiftmodule \
	  -c Sources/Script/*.swift -o $@

$(FUZZ_DIR)/SIP.o: Sources/SIP/*.swift
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_SWIFTC) -wmo -enable-testing -module-name SIP -emit-module -emit-module-path $(FUZZ_DIR)/SIP.swiftmodule \
	  -c Sources/SIP/*.swift -o $@

$(FUZZ_DIR)/fuzz-sip: $(FUZZ_DIR)/SIP.o Fuzz/sip/*.swift Tests/SIPTests/SIPFuzzTarget.swift Tests/SIPTests/FuzzInvariants.swift
	$(FUZZ_SWIFTC) -D FUZZING -I $(FUZZ_DIR) -module-name SIPFuzzer Fuzz/sip/*.swift Tests/SIPTests/SIPFuzzTarget.swift \
	  Tests/SIPTests/FuzzInvariants.swift $(FUZZ_DIR)/SIP.o -o $@

$(FUZZ_DIR)/fuzz-config: $(FUZZ_DIR)/Script.o Fuzz/config/*.swift $(SCRIPT_TEST_SUPPORT)
	$(FUZZ_SWIFTC) -I $(FUZZ_DIR) -module-name ConfigFuzzer Fuzz/config/*.swift $(SCRIPT_TEST_SUPPORT) \
	  $(FUZZ_DIR)/Script.o -o $@

# One formatter configuration each: .swift-format and .clang-format.
fmt:
	@command -v clang-format >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format
	clang-format -i CShared/*.c CShared/*.h CShared/include/*.h
	$(SWIFT) format -i -r Sources Tests Benchmarks Package.swift

clean:
	$(SWIFT) package clean
