"""bench.py's `sqlquery` part: sql_query in async task workers (sql-task.cfg), Kamailio and
Respite on the same file, on SQLite and PostgreSQL. respite-stress finds the highest clean
INVITE rate (every INVITE answered 200 within 2 s), then runs 80% of it (or SQL_RATE_SQLITE /
SQL_RATE_POSTGRES when set, to compare both servers at one rate) for RUN_SECONDS
beside an OPTIONS probe the receivers answer: queries/s, CPU per query (the server's group,
plus PostgreSQL's backends), and the probe's latency."""
import os, re, subprocess, time

import __main__ as bench  # bench.py, which imports this file
from servers import free_port


def stress(*args):
    out = subprocess.run([os.path.join(bench.BIN, "respite-stress"), *args, "--quiet"],
                         capture_output=True, text=True, timeout=600).stdout.strip()
    return out


def field(name, text):
    m = re.search(rf"\b{name}=(-?[0-9.]+)", text)
    return float(m.group(1)) if m else None


def measure(kind, engine, work, cluster):
    url = bench.fresh_url(engine, work, f"{kind}-{engine}-sql", cluster)
    defines = [f'SQLCON="ca=>{url}"'] + (["WITH_POSTGRES"] if engine == "postgres" else [])
    server = bench.Server(kind, work, f"{engine}-sql", os.path.join(bench.HERE, "sql-task.cfg"), defines)
    target = f"127.0.0.1:{server.port}"
    try:
        fixed = os.environ.get(f"SQL_RATE_{engine.upper()}")
        if fixed:  # the same rate for both servers (the other server's 80%, say)
            rate = int(fixed)
        else:
            found = stress("--target", target, "--method", "INVITE", "--ruri", f"sip:u17@{target}", "--expect", "200",
                           "--find-max", "--rate", "200", "--step-percent", "30", "--max-rate", "40000", "--duration", "4")
            print(f"databases sqlquery engine={engine} server={kind} probe=max {found.removeprefix('stress ')}", flush=True)
            rate = max(10, int((field("max_rate", found) or 10) * 0.8))
        time.sleep(3)
        c0, p0 = server.cpu_ns(), cluster.cpu_ns() if cluster else 0
        bin_stress = os.path.join(bench.BIN, "respite-stress")
        probe = subprocess.Popen([bin_stress, "--target", target, "--ruri", f"sip:probe@{target}",
                                  "--rate", str(bench.PROBE_RATE), "--duration", str(bench.RUN_SECONDS), "--quiet"],
                                 stdout=subprocess.PIPE, text=True)
        load = subprocess.run([bin_stress, "--target", target, "--method", "INVITE", "--ruri", f"sip:u17@{target}",
                               "--expect", "200", "--rate", str(rate), "--duration", str(bench.RUN_SECONDS), "--quiet"],
                              capture_output=True, text=True, timeout=120).stdout.strip()
        probe_out = probe.communicate(timeout=60)[0].strip()
        server_ns = server.cpu_ns() - c0
        db_ns = (cluster.cpu_ns() - p0) if cluster else 0
        answered = int(field("answered", load) or 0)
        probes = int(field("answered", probe_out) or 0)
        per = server_ns / 1000 / max(answered + probes, 1)
        print(f"databases sqlquery engine={engine} server={kind} probe=run rate={rate}/s "
              f"queries_per_s={answered / bench.RUN_SECONDS:.0f} server_cpu_us_per_query={per:.1f} "
              f"postgres_cpu_us_per_query={db_ns / 1000 / max(answered, 1):.1f} {load.removeprefix('stress ')}", flush=True)
        print(f"databases sqlquery engine={engine} server={kind} probe=options rate={bench.PROBE_RATE}/s "
              f"{probe_out.removeprefix('stress ')}", flush=True)
    finally:
        server.stop()
