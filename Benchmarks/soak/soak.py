#!/usr/bin/env python3
"""Soak: runs Respite for N minutes under a mixed load and tells whether memory stays flat.

Starts the release `respite` on soak.cfg (loopback, its own process group, its own arena
name), drives it with three `respite-stress` clients at once (stateful replies, async task
routes, async millisecond sleeps: --rate each), and every --sample seconds reads
`respite-shm --json` (bytes held = used less the free blocks waiting in bins and caches,
fragments, the largest free block, live transactions) and the private RSS (RssAnon) of
every server process. At the end it prints one `soak ...` line per series with its slope
per minute (least squares) and whether it is flat: its fitted change over the run is
under --flat-percent of its mean (or under one sample's resolution). Not part of
`make test`: run it by hand, e.g.  python3 Benchmarks/soak/soak.py --minutes 30
Everything it starts is stopped when it ends, however it ends.
"""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "..", ".build", "release")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def rss_anon_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def slope_per_minute(points):
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / sxx * 60.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--rate", type=int, default=500, help="requests/s of each of the three clients")
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--shm-mb", type=int, default=256)
    ap.add_argument("--flat-percent", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds left out of the fit")
    ap.add_argument("--json", help="write every sample to this file")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="respite-soak-")
    port = free_port()
    shm = f"/respite-soak-{os.getpid()}"
    cfg = os.path.join(work, "soak.cfg")
    with open(os.path.join(HERE, "soak.cfg")) as f:
        open(cfg, "w").write(f.read().replace("PORT", str(port)))
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([os.path.join(BIN, "respite"), "-f", cfg, "-DD", "-E", "-m", str(args.shm_mb),
                               "--shm-name", shm], stdout=log, stderr=log, start_new_session=True)
    clients = []
    samples = []
    seconds = args.minutes * 60
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", shm, "--json"], capture_output=True)
            if r.returncode == 0 and all(p.get("alive") for p in json.loads(r.stdout).get("processes", [])):
                break
            time.sleep(0.1)
        start = time.monotonic()
        ticks0 = cpu_ticks(group_members(server.pid))

        def start_clients(duration):
            out = []
            for user in ("state", "task", "sleep"):
                out.append(subprocess.Popen(
                    [os.path.join(BIN, "respite-stress"), "--target", f"127.0.0.1:{port}", "--method", "MESSAGE",
                     "--ruri", f"sip:{user}@127.0.0.1:{port}", "--rate", str(args.rate),
                     "--duration", str(int(duration)), "--quiet"],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True))
            return out

        results = []
        while time.monotonic() - start < seconds:
            left = seconds - (time.monotonic() - start)
            clients = start_clients(min(600, max(1, left)))
            while any(c.poll() is None for c in clients):
                now = time.monotonic() - start
                r = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", shm, "--json"], capture_output=True)
                pids = group_members(server.pid)
                if r.returncode in (0, 3):
                    report = json.loads(r.stdout)
                    a = report["allocator"]
                    samples.append({
                        "t": now, "exit": r.returncode,
                        "held_bytes": a["usedBytes"] - a["binnedBytes"] - a["cachedBytes"],
                        "binned_bytes": a["binnedBytes"], "fragments": a["fragments"],
                        "largest_free": a["largestFreeBlock"],
                        "live_tx": report.get("transactions", {}).get("live", 0),
                        "rss_anon_kib": sum(rss_anon_kib(p) for p in pids),
                    })
                for _ in range(int(args.sample * 10)):
                    if all(c.poll() is not None for c in clients):
                        break
                    time.sleep(0.1)
            results += [c.communicate()[0].strip() for c in clients]
            clients = []
        elapsed = time.monotonic() - start
        ticks = cpu_ticks(group_members(server.pid)) - ticks0
    finally:
        for c in clients:
            if c.poll() is None:
                os.killpg(c.pid, signal.SIGKILL)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=5)
        except Exception:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if os.path.exists("/dev/shm" + shm):
            os.unlink("/dev/shm" + shm)

    if args.json:
        json.dump(samples, open(args.json, "w"), indent=1)
    lost = sum(int(kv.split("=")[1]) for r in results for kv in r.split() if kv.startswith("lost="))
    sent = sum(int(kv.split("=")[1]) for r in results for kv in r.split() if kv.startswith("sent="))
    bad = sum(1 for s in samples if s["exit"] != 0)
    hz = os.sysconf("SC_CLK_TCK")
    print(f"soak minutes={elapsed / 60:.1f} rate={3 * args.rate} sent={sent} lost={lost} samples={len(samples)} "
          f"shm_exit_nonzero={bad} server_cpu_us_per_req={ticks / hz * 1e6 / max(sent, 1):.1f} "
          f"load={os.getloadavg()[0]:.2f}")
    fit = [s for s in samples if s["t"] >= args.warmup] or samples
    minutes = max((fit[-1]["t"] - fit[0]["t"]) / 60, 1e-9) if fit else 0
    for key in ("held_bytes", "binned_bytes", "fragments", "largest_free", "live_tx", "rss_anon_kib"):
        points = [(s["t"], s[key]) for s in fit]
        if not points:
            continue
        mean = sum(v for _, v in points) / len(points)
        slope = slope_per_minute(points)
        change = abs(slope * minutes)
        flat = change <= max(abs(mean) * args.flat_percent / 100, 1)
        print(f"soak series={key} first={points[0][1]} last={points[-1][1]} mean={mean:.0f} "
              f"slope_per_min={slope:.1f} flat={'yes' if flat else 'no'}")
    return 0 if lost == 0 and bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
