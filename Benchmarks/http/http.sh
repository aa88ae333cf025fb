#!/usr/bin/env bash
# The http benchmarks (issue 13): INVITEs whose answer waits for an HTTP service that
# answers after DELAY_MS (100 ms), Respite against Kamailio 5.6 on the same machine, one run.
#   http-async  Respite: http_async_query() suspends the transaction (http-async.cfg)
#   http-task   Kamailio and Respite: async_task_route() + http_client_query(), 8 task
#               workers blocking on the service (http-task.cfg, the same file on both)
# For each: the highest clean INVITE rate (respite-stress --find-max, every INVITE answered
# 200 within 2 s), then a run at 80% of it for RUN_SECONDS with the server's CPU per
# request (its whole process group, /proc ticks), an OPTIONS probe's latency meanwhile
# (PROBE_RATE/s, answered by sl in the receivers). For Respite also the arena bytes per
# pending query: HOLD_COUNT INVITEs to a second service that answers after 2.5 s, and the
# bytes the arena holds while they all wait, over the idle server's, per query.
# Loopback only; every process started here is stopped here; about 1.5 minutes per server.
# Needs a release build (make bench); Kamailio is skipped with a line when missing.
set -u
cd "$(dirname "$0")"
. ../lib/process-group.sh
BIN=../../.build/release
STRESS="$BIN/respite-stress"
DELAY_MS=${DELAY_MS:-100}
STEP_SECONDS=${STEP_SECONDS:-4}
RUN_SECONDS=${RUN_SECONDS:-6}
PROBE_RATE=${PROBE_RATE:-200}
MAX_RATE=${MAX_RATE:-20000}
SCENARIOS=${SCENARIOS:-"http-async http-task"}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
shm_prefix="/respite-bench-http-$$"
pids=()
srv=""
port=5480
runs=0

trap cleanup_groups EXIT
trap 'exit 130' INT TERM

# The HTTP service, in its own process group.
setsid python3 slow_http_server.py "$DELAY_MS" > "$work/http.port" 2> "$work/http.err" &
pids+=("$!")
for _ in $(seq 50); do [ -s "$work/http.port" ] && break; sleep 0.1; done
http_port=$(head -n1 "$work/http.port")
[ -n "$http_port" ] || { echo "http service did not start: $(cat "$work/http.err")" >&2; exit 1; }
setsid python3 slow_http_server.py 2500 > "$work/hold.port" 2> "$work/hold.err" &
pids+=("$!")
for _ in $(seq 50); do [ -s "$work/hold.port" ] && break; sleep 0.1; done
hold_port=$(head -n1 "$work/hold.port")
HOLD_COUNT=${HOLD_COUNT:-2000}

start() { # server config: starts it in its own process group; sets srv (empty on failure)
    local server=$1 cfg=$2 log
    port=$((port + 1))
    runs=$((runs + 1))
    sed "s/HTTPPORT/$http_port/; s/HOLDPORT/$hold_port/; s/PORT/$port/" "$cfg" > "$work/$runs.cfg"
    log="$work/$runs.$server.log"
    if [ "$server" = kamailio ]; then
        setsid /usr/sbin/kamailio -f "$work/$runs.cfg" -DD -E -m 1024 -M 8 > "$log" 2>&1 &
    else
        shm="$shm_prefix-$runs"
        setsid "$BIN/respite" -f "$work/$runs.cfg" -DD -E -m 1024 --shm-name "$shm" > "$log" 2>&1 &
    fi
    srv=$!
    pids+=("$srv")
    sleep 2
    if ! kill -0 "$srv" 2>/dev/null; then
        echo "compare scenario=$scen server=$server status=failed"
        tail -n 3 "$log" | sed "s/^/  $server: /" >&2
        srv=""
    fi
}

stop() {
    [ -n "$srv" ] || return 0
    kill -TERM -- "-$srv" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$srv" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=""
}

field() { # key text: the number after key= in text
    local v
    v=$(grep -o -m1 "\b$1=-\?[0-9.]*" <<< "$2" | head -n1 | grep -o -- '-\?[0-9.]*$')
    echo "${v:-na}"
}

held() { # Respite: arena bytes held (used less freed blocks kept in bins and caches), and pending queries
    "$BIN/respite-shm" --shm-name "$shm" --json 2> /dev/null | python3 -c '
import json,sys
r=json.load(sys.stdin); a=r["allocator"]; q=r.get("httpQueries") or {}
print(a["usedBytes"]-a.get("binnedBytes",0)-a.get("cachedBytes",0), q.get("used",0), q.get("entryBytes",0))' 2> /dev/null || echo na na na
}

measure() { # server scenario config
    local server=$1 scen=$2 cfg=$3 out max rate t0 t1 answered cpu probe idle busy
    start "$server" "$cfg"
    [ -n "$srv" ] || return
    out=$("$STRESS" --target "127.0.0.1:$port" --method INVITE --expect 200 --find-max --rate 20 \
        --step-percent 40 --max-rate "$MAX_RATE" --duration "$STEP_SECONDS" --quiet)
    echo "compare scenario=$scen server=$server probe=max ${out#stress }"
    max=$(field max_rate "$out")
    rate=$(python3 -c "print(max(10, int(float('$max') * 0.8)))" 2> /dev/null || echo 10)
    sleep 3
    t0=$(ticks "$srv")
    "$STRESS" --target "127.0.0.1:$port" --ruri "sip:probe@127.0.0.1:$port" --rate "$PROBE_RATE" \
        --duration "$RUN_SECONDS" --quiet > "$work/probe.out" 2>&1 &
    local probe_pid=$!
    "$STRESS" --target "127.0.0.1:$port" --method INVITE --expect 200 --rate "$rate" --duration "$RUN_SECONDS" \
        --quiet > "$work/load.out" 2>&1 &
    local load_pid=$!
    wait "$load_pid" "$probe_pid"
    t1=$(ticks "$srv")
    out=$(cat "$work/load.out")
    probe=$(cat "$work/probe.out")
    answered=$(field answered "$out")
    cpu=na
    [[ $answered =~ ^[0-9]+$ ]] && [ "$answered" -gt 0 ] && cpu=$(((t1 - t0) * 1000000 / TICK / (answered + $(field answered "$probe"))))
    echo "compare scenario=$scen server=$server probe=run rate=$rate cpu_us_per_req=$cpu ${out#stress }"
    echo "compare scenario=$scen server=$server probe=options rate=$PROBE_RATE ${probe#stress }"
    if [ "$server" = respite ] && [ "$scen" = http-async ]; then
        sleep 6 # finished transactions leave (wt_timer)
        idle=$(held)
        "$STRESS" --target "127.0.0.1:$port" --method INVITE --ruri "sip:hold@127.0.0.1:$port" --expect 200 \
            --rate 2000 --count "$HOLD_COUNT" --timeout 8000 --quiet > "$work/hold.out" 2>&1 &
        local hold_pid=$!
        sleep $((HOLD_COUNT / 2000 + 1))
        busy=$(held)
        wait "$hold_pid"
        set -- $idle $busy
        if [[ ${4:-} =~ ^[0-9]+$ ]] && [ "${5:-0}" -gt 0 ]; then
            echo "compare scenario=$scen server=respite probe=arena pending=$5 held_idle=$1 held_busy=$4 bytes_per_pending=$((($4 - $1) / $5)) entry_bytes=$6 $(sed 's/^stress //' "$work/hold.out" | grep -o 'answered=[0-9]* lost=[0-9]*')"
        fi
    fi
    stop
}

command -v kamailio > /dev/null || [ -x /usr/sbin/kamailio ] || echo "compare server=kamailio status=missing (apt-get install kamailio kamailio-utils-modules)"
for scen in $SCENARIOS; do
    case $scen in
    http-async) measure respite http-async http-async.cfg ;;
    http-task)
        [ -x /usr/sbin/kamailio ] && measure kamailio http-task http-task.cfg
        measure respite http-task http-task.cfg
        ;;
    esac
done
