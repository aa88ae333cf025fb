"""bench.py's `twonode` part: two servers on one PostgreSQL with usrloc db_mode 3
(twonode.cfg). A SIPp callee (stockcfg's uas.xml) registers as "uas" on node A; a SIPp
caller (stockcfg's uac.xml) calls it through node B at each rate of CALL_RATES for
CALL_SECONDS: calls/s reached, CPU per call on node B and in PostgreSQL."""
import os, subprocess, time

import __main__ as bench  # bench.py, which imports this file
from servers import free_port, stop_group

STOCKCFG = os.path.join(bench.HERE, "..", "stockcfg")


def measure(kind, work, cluster):
    url = cluster.fresh_database(10, bench.DOMAIN)
    cfg = os.path.join(bench.HERE, "twonode.cfg")
    a = bench.Server(kind, work, "nodeA", cfg, [f'DBURL="{url}"'])
    b = bench.Server(kind, work, "nodeB", cfg, [f'DBURL="{url}"'])
    uas_port = free_port()
    uas = subprocess.Popen([bench.SIPP, "-sf", os.path.join(STOCKCFG, "uas.xml"), "-i", "127.0.0.1",
                            "-p", str(uas_port), "-nostdin"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    best = None
    try:
        time.sleep(0.5)

        bench.stockcfg.register_callee(a, uas_port)
        for i, rate in enumerate(bench.CALL_RATES):
            c0, p0 = b.cpu_ns(), cluster.cpu_ns()
            r = bench.run_sipp([f"127.0.0.1:{b.port}", "-sf", os.path.join(STOCKCFG, "uac.xml"), "-s", "uas",
                                "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate),
                                "-m", str(rate * bench.CALL_SECONDS)], work, f"{kind}-twonode{i}", bench.CALL_SECONDS)
            time.sleep(1)
            clean, per = bench.step_line("twonode calls_via=B registered_on=A", kind, rate, bench.CALL_SECONDS, r,
                                         b.cpu_ns() - c0, "call")
            print(f"databases   postgres_cpu_us_per_call={(cluster.cpu_ns() - p0) / 1000 / max(r['ok'], 1):.1f}", flush=True)
            if not clean:
                break
            best = (rate, per)
    finally:
        stop_group(uas)
        a.stop()
        b.stop()
    print(f"databases max what=twonode server={kind} clean_rate={best[0] if best else 0}/s "
          f"node_b_cpu_us_per_call={best[1] if best else 0:.1f}", flush=True)
