#!/usr/bin/env bash
# Respite against Kamailio 5.6 on the same config, same machine, one run: latency at a
# fixed 3,000 req/s and the highest clean rate (respite-stress --find-max). Loopback only;
# every server started here is stopped here (its whole process group). Needs a release
# build (make bench) and the kamailio package (skipped with a line when it is missing).
set -u
cd "$(dirname "$0")"
BIN=../../.build/release
STRESS="$BIN/respite-stress"
STEP_SECONDS=${STEP_SECONDS:-4}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 1
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

start() { # name port config -> starts the server in its own process group
    local name=$1 port=$2 cfg=$3
    sed "s/PORT/$port/" "$cfg" > "$work/$name.cfg"
    if [ "$name" = kamailio ]; then
        setsid /usr/sbin/kamailio -f "$work/$name.cfg" -DD -E -m 64 -M 8 > "$work/$name.log" 2>&1 &
    else
        setsid "$BIN/respite" -f "$work/$name.cfg" -DD -E -m 64 --shm-name "/respite-bench-$$" > "$work/$name.log" 2>&1 &
    fi
    pids+=($!)
    sleep 2
}

for scenario in stateless stateful; do
    servers=(respite)
    if [ -x /usr/sbin/kamailio ]; then servers=(kamailio respite); else echo "compare scenario=$scenario kamailio=missing"; fi
    port=5270
    for server in "${servers[@]}"; do
        port=$((port + 1))
        start "$server" "$port" "$scenario.cfg"
        latency=$("$STRESS" --target "127.0.0.1:$port" --rate 3000 --duration 5 --quiet)
        echo "compare scenario=$scenario server=$server probe=latency ${latency#stress }"
        max=$("$STRESS" --target "127.0.0.1:$port" --find-max --rate 8000 --step-percent 25 --duration "$STEP_SECONDS" --quiet)
        echo "compare scenario=$scenario server=$server probe=max ${max#stress }"
        kill -TERM -- "-${pids[-1]}" 2>/dev/null
        sleep 1
    done
done
