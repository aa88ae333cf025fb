#!/usr/bin/env python3
"""Which published Kamailio configs load on Respite: every *.cfg the Debian kamailio
packages install (/etc/kamailio, /usr/share/doc/kamailio/examples), checked with
`kamailio -c` and `respite -c` from the file's own folder. A config counts when Kamailio
5.6.3 itself loads it (the others need modules that are not installed here, or syntax of
older releases). Prints one line per config Kamailio loads, then Respite's errors counted
by kind, so the next missing piece is the most common one.

    python3 Benchmarks/stockcfg/corpus.py [path/to/respite]
"""
import collections, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESPITE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", ".build", "release", "respite"))
ROOTS = ["/etc/kamailio", "/usr/share/doc/kamailio/examples"]


def check(cmd, path):
    run = subprocess.run(cmd + ["-c", "-f", path], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(path))
    return run.stdout + run.stderr


def main():
    if not os.path.exists("/usr/sbin/kamailio"):
        print("corpus skipped: kamailio is not installed")
        return
    configs = sorted(os.path.join(d, f) for root in ROOTS for d, _, files in os.walk(root)
                     for f in files if f.endswith(".cfg"))
    loaded_by_kamailio, loaded_by_respite, kinds = 0, 0, collections.Counter()
    for path in configs:
        if "config file ok" not in check(["/usr/sbin/kamailio"], path):
            continue
        loaded_by_kamailio += 1
        out = check([RESPITE], path)
        errors = [re.sub(r"^.*?: error: ", "", line) for line in out.splitlines() if ": error: " in line]
        ok = "config file ok" in out
        loaded_by_respite += ok
        print(f"corpus {'ok  ' if ok else 'FAIL'} {path} {len(errors)} error(s) {errors[0][:90] if errors else ''}")
        kinds.update(e[:90] for e in errors)
    print(f"corpus configs={len(configs)} kamailio_loads={loaded_by_kamailio} respite_loads={loaded_by_respite}")
    for kind, n in kinds.most_common(20):
        print(f"corpus error x{n}: {kind}")


if __name__ == "__main__":
    main()
