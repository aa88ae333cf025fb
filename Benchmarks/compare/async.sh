#!/usr/bin/env bash
# The async module's benchmarks (README.md, "How it compares"): Respite against Kamailio 5.6 on the same
# config files, same machine, one run. Loopback only; every server started here runs in
# its own process group and is stopped here; bounded (about 2.5 minutes per server). One
# `compare scenario=... server=...` line per result:
#   async-task   async_task_route, reply from route[R]: latency at 3,000 req/s (with the
#                server's CPU per request) and the highest clean rate (--find-max)
#   async-ms     async_ms_sleep(100) then reply, ms_timer=1 and 10, at 200 and 1,000 req/s:
#                lateness = latency - 100 ms; "early" from the smallest latency (min_us,
#                exact: early=0 or early=some)
#   async-route  mass suspension in the second ring (async_route(R,10)), MASS_RATE for
#                MASS_SECONDS (~42,000 waiting at the read, 8.5 s in): shm per suspended
#                transaction over the idle baseline, answered/lost, shm after wt_timer
#                (Respite: also held = used less freed blocks in bins and caches)
#   idle         CPU of the whole process group over IDLE_SECONDS, % of one core
# A config Respite rejects at load (async not there yet) gives `status=unsupported`.
# Needs a release build (make bench); Kamailio is skipped with a line when missing.
set -u
cd "$(dirname "$0")"
. ../lib/process-group.sh
BIN=../../.build/release
STRESS="$BIN/respite-stress"
SHM_TOOL="$BIN/respite-shm"
STEP_SECONDS=${STEP_SECONDS:-4}
MAX_RATE=${MAX_RATE:-40000} # bounds --find-max: at most 11 steps from 4,000 req/s
SHM_MB=${SHM_MB:-1024}
MS_SECONDS=${MS_SECONDS:-8}
MASS_RATE=${MASS_RATE:-5000}
MASS_SECONDS=${MASS_SECONDS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-10}
WT_TIMER=5 # tm's default wt_timer, seconds
SCENARIOS=${SCENARIOS:-"async-task async-ms async-route idle"}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
ctl="$work/ctl.sock"
shm_prefix="/respite-bench-async-$$"
pids=()
spid=""
srv=""
port=5380
runs=0

cleanup() {
    [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null
    cleanup_groups
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { # pid: running (not gone, not a zombie)
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null)
    [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

# server scenario config [NAME...]: starts the server in its own process group with -A NAME
# for each NAME, waits 2 s; sets srv. Returns 1 (after its `compare` line) when the config
# is rejected or the server is not running.
start() {
    local server=$1 scen=$2 cfg=$3 d defs=() log
    shift 3
    for d in "$@"; do defs+=(-A "$d"); done
    port=$((port + 1))
    runs=$((runs + 1))
    sed "s/PORT/$port/; s#CTLSOCK#$ctl#" "$cfg" > "$work/$runs.cfg"
    log="$work/$runs.$server.log"
    srv=""
    if [ "$server" = kamailio ]; then
        rm -f "$ctl"
        setsid /usr/sbin/kamailio -f "$work/$runs.cfg" -DD -E -m "$SHM_MB" -M 8 -A WITH_CTL "${defs[@]}" > "$log" 2>&1 &
    else
        if ! "$BIN/respite" -c -f "$work/$runs.cfg" "${defs[@]}" > "$log" 2>&1; then
            echo "compare scenario=$scen server=respite status=unsupported"
            grep -m1 'error' "$log" | sed 's/^/  respite: /' >&2
            return 1
        fi
        shm="$shm_prefix-$runs"
        setsid "$BIN/respite" -f "$work/$runs.cfg" -DD -E -m "$SHM_MB" "${defs[@]}" --shm-name "$shm" > "$log" 2>&1 &
    fi
    srv=$!
    pids+=("$srv")
    sleep 2
    if ! alive "$srv"; then
        echo "compare scenario=$scen server=$server status=failed"
        tail -n 3 "$log" | sed "s/^/  $server: /" >&2
        stop
        return 1
    fi
    return 0
}

stop() { # the current server's whole process group
    [ -n "$srv" ] || return 0
    local i
    kill -TERM -- "-$srv" 2>/dev/null
    for i in $(seq 50); do
        kill -0 -- "-$srv" 2>/dev/null || break
        alive "$srv" || wait "$srv" 2>/dev/null
        sleep 0.1
    done
    kill -KILL -- "-$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$srv" ] || keep+=("$p"); done
    pids=("${keep[@]}")
    srv=""
}

runtime_ns() { # pgid: time on CPU of every process in the group, from schedstat, ns
    local g=$1 total=0 p f
    for p in $(pgrep -g "$g"); do
        read -r f _ 2>/dev/null < "/proc/$p/schedstat" || continue
        total=$((total + f))
    done
    echo "$total"
}

field() { # key text: the number after key= or "key": in text
    local v
    v=$(grep -o -m1 "\"$1\" *: *-\?[0-9.]*\|\b$1=-\?[0-9.]*" <<< "$2" | head -n1 | grep -o -- '-\?[0-9.]*$')
    echo "${v:-na}"
}

shm_used() { # server: shared memory in use, then what the server holds of it, bytes
    # Kamailio: core.shmmem real_used, held na. Respite: allocator.usedBytes (it counts freed
    # blocks kept in bins and process caches), held = usedBytes - binnedBytes - cachedBytes.
    if [ "$1" = kamailio ]; then
        echo "$(field real_used "$(kamcmd -s "unix:$ctl" core.shmmem 2>/dev/null | tr -d '\t' | sed 's/: /=/')") na"
    else
        "$SHM_TOOL" --shm-name "$shm" --json 2> /dev/null | python3 -c 'import json,sys; a=json.load(sys.stdin)["allocator"]; print(a["usedBytes"], a["usedBytes"]-a.get("binnedBytes",0)-a.get("cachedBytes",0))' 2> /dev/null || echo na na
    fi
}

suspended() { # server: transactions waiting (Kamailio: tm current, taken before any reply)
    if [ "$1" = kamailio ]; then
        field current "$(kamcmd -s "unix:$ctl" tm.stats 2>/dev/null | tr -d '\t' | sed 's/: /=/')"
    else
        "$SHM_TOOL" --shm-name "$shm" --json 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"]["suspended"])' 2> /dev/null || echo na
    fi
}

live() { # server: transactions in the table (suspended, answered and waiting wt_timer)
    if [ "$1" = kamailio ]; then
        field current "$(kamcmd -s "unix:$ctl" tm.stats 2>/dev/null | tr -d '\t' | sed 's/: /=/')"
    else
        "$SHM_TOOL" --shm-name "$shm" --json 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"]["live"])' 2> /dev/null || echo na
    fi
}

num() { [[ $1 =~ ^-?[0-9]+$ ]]; }

task() { # server
    local s=$1 out t0 t1 answered cpu
    start "$s" async-task async-task.cfg || return
    t0=$(ticks "$srv")
    out=$("$STRESS" --target "127.0.0.1:$port" --rate 3000 --duration 5 --quiet)
    t1=$(ticks "$srv")
    answered=$(field answered "$out")
    cpu=na
    num "$answered" && [ "$answered" -gt 0 ] && cpu=$(((t1 - t0) * 1000000 / TICK / answered))
    echo "compare scenario=async-task server=$s probe=latency cpu_us_per_req=$cpu ${out#stress }"
    sleep "$WT_TIMER" # let the finished transactions go before stepping up
    out=$("$STRESS" --target "127.0.0.1:$port" --find-max --rate 4000 --step-percent 25 --max-rate "$MAX_RATE" --duration "$STEP_SECONDS" --quiet)
    echo "compare scenario=async-task server=$s probe=max ${out#stress }"
    stop
}

ms() { # server
    local s=$1 timer def out err rate p min early k v line
    for timer in 1 10; do
        def=()
        [ "$timer" = 10 ] && def=(MS_TIMER_10)
        start "$s" "async-ms ms_timer=$timer" async-ms.cfg "${def[@]}" || continue
        for rate in 200 1000; do
            out=$("$STRESS" --target "127.0.0.1:$port" --rate "$rate" --duration "$MS_SECONDS" --json 2> "$work/ms.err")
            err=$(cat "$work/ms.err")
            line="compare scenario=async-ms server=$s ms_timer=$timer rate=$rate"
            for k in sent answered lost unexpected; do line+=" $k=$(field "$k" "$out")"; done
            for p in p50 p90 p99 p999 max; do
                v=$(field "${p}_us" "$out")
                num "$v" && v=$((v - 100000))
                line+=" late_${p}_us=$v"
            done
            # min_us is exact (the percentiles come from a 3-digit histogram).
            min=$(field min_us "$out")
            num "${min:-}" || min=$(grep -o 'min [0-9]*' <<< "$err" | grep -o '[0-9]*$')
            early=na
            if num "${min:-}"; then
                if [ "$min" -lt 100000 ]; then early=some; else early=0; fi
                line+=" late_min_us=$((min - 100000))"
            else
                line+=" late_min_us=na"
            fi
            echo "$line early=$early"
        done
        stop
    done
}

mass() { # server
    local s=$1 idle mid waiting over out after live_after per held_idle held_mid held_after held_over
    start "$s" async-route async-route.cfg || return
    read -r idle held_idle <<< "$(shm_used "$s")"
    "$STRESS" --target "127.0.0.1:$port" --rate "$MASS_RATE" --duration "$MASS_SECONDS" --timeout 15000 --quiet > "$work/mass.out" &
    spid=$!
    # The first resumes come after 9 s at the earliest: read while nobody has been answered.
    sleep "$(awk -v d="$MASS_SECONDS" 'BEGIN { print (d < 9 ? d : 8.5) }')"
    read -r mid held_mid <<< "$(shm_used "$s")"
    waiting=$(suspended "$s")
    wait "$spid"
    spid=""
    out=$(cat "$work/mass.out")
    sleep $((WT_TIMER + 1))
    read -r after held_after <<< "$(shm_used "$s")"
    live_after=$(live "$s")
    per=na
    num "$idle" && num "$mid" && num "$waiting" && [ "$waiting" -gt 0 ] && per=$(((mid - idle) / waiting))
    over=na
    num "$idle" && num "$after" && over=$((after - idle))
    held_over=na
    num "$held_idle" && num "$held_after" && held_over=$((held_after - held_idle))
    echo "compare scenario=async-route server=$s rate=$MASS_RATE seconds=$MASS_SECONDS shm_idle=$idle shm_mid=$mid waiting_mid=$waiting bytes_per_suspended=$per shm_after_wt=$after shm_after_wt_over_idle=$over held_after_wt_over_idle=$held_over live_after_wt=$live_after ${out#stress }"
    stop
}

idle_cpu() { # server
    local s=$1 t0 t1 n0 n1 n
    start "$s" idle idle.cfg || return
    n=$(pgrep -g "$srv" | wc -l)
    t0=$(ticks "$srv")
    n0=$(runtime_ns "$srv")
    sleep "$IDLE_SECONDS"
    t1=$(ticks "$srv")
    n1=$(runtime_ns "$srv")
    # cpu_percent: utime+stime (/proc/PID/stat, clock ticks: 0.1% steps over 10 s);
    # cpu_percent_sched: the same from /proc/PID/schedstat, in nanoseconds.
    echo "compare scenario=idle server=$s processes=$n seconds=$IDLE_SECONDS cpu_percent=$(awk -v t=$((t1 - t0)) -v hz="$TICK" -v s="$IDLE_SECONDS" 'BEGIN { printf "%.2f", 100 * t / hz / s }') cpu_percent_sched=$(awk -v t=$((n1 - n0)) -v s="$IDLE_SECONDS" 'BEGIN { printf "%.2f", 100 * t / 1e9 / s }')"
    stop
}

echo "# async.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
servers=(respite)
if [ -x /usr/sbin/kamailio ]; then servers=(kamailio respite); else echo "compare scenario=async kamailio=missing"; fi
for scenario in $SCENARIOS; do
    for server in "${servers[@]}"; do
        case $scenario in
            async-task) task "$server" ;;
            async-ms) ms "$server" ;;
            async-route) mass "$server" ;;
            idle) idle_cpu "$server" ;;
        esac
    done
done
