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
