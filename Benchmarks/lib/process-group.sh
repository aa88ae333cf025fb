# Shell helpers the benchmark scripts share (sourced, not run).

ticks() { # pgid: utime+stime of every process in the group, clock ticks
    local total=0 p f
    for p in $(pgrep -g "$1"); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }
        set -- $f
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}

# The EXIT trap of a benchmark script: stops every process group it started (the pgids in
# the array `pids`), removes its arenas (/dev/shm$shm_prefix-*) and its scratch folder $work.
cleanup_groups() {
    local p
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    [ ${#pids[@]} -gt 0 ] && sleep 1
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    rm -f /dev/shm"$shm_prefix"-* 2>/dev/null
    rm -rf "$work"
}
