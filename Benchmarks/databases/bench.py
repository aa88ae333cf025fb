#!/usr/bin/env python3
"""Issue 14's figures: Kamailio 5.6.3 against Respite on databases, same machine, one run,
SIPp (and respite-stress) on loopback. Every process started here is stopped here.

One `databases ...` line per measurement:
  register  Debian's stock kamailio.cfg with its one edit (db_mysql.so -> db_sqlite.so or
            db_postgres.so) and -A WITH_MYSQL -A WITH_AUTH -A WITH_USRLOCDB -A DBURL=...,
            on a database made from Kamailio's schema files with USERS subscribers.
            SIPp registers each user once with digest credentials (register-auth.xml:
            REGISTER, 401, REGISTER with credentials, 200) at each rate of REGISTER_RATES
            for REGISTER_SECONDS, a fresh server and database per step; per step: the
            rate reached, failures, retransmissions, the server's CPU per authenticated
            REGISTER (its process group, schedstat) and PostgreSQL's (its cluster's group).
  sqlquery  sql-task.cfg (the same file on both): each INVITE goes to async_task_route,
            whose worker runs sql_query on a subscriber row and answers 200 with the row's
            ha1; respite-stress finds the highest clean rate, then runs 80% of it for
            RUN_SECONDS beside an OPTIONS probe answered by the receivers (PROBE_RATE/s):
            queries/s, CPU per query, the probe's p99.
  twonode   two servers on one PostgreSQL with usrloc db_mode 3 (twonode.cfg): a SIPp callee
            registers on node A, a SIPp caller calls it through node B at each rate of
            CALL_RATES for CALL_SECONDS: calls/s reached, CPU per call on node B.
Environment: PARTS, ENGINES (sqlite postgres), SERVERS (kamailio respite), USERS, rates.
Needs a release build (make bench), sipp, and kamailio with its sqlite and postgres modules.
"""
import os, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tcp"))
sys.path.insert(0, os.path.join(HERE, "..", "stockcfg"))
from servers import free_port  # noqa: E402
import bench as stockcfg  # noqa: E402  (Benchmarks/stockcfg/bench.py)
from bench import run_sipp, step_line  # noqa: E402
import dbsetup  # noqa: E402

BIN = os.environ.get("RESPITE_BIN", os.path.join(HERE, "..", "..", ".build", "release"))
STOCK = os.environ.get("STOCK_CFG", "/etc/kamailio/kamailio.cfg")
KAMAILIO = "/usr/sbin/kamailio"
SIPP = "/usr/bin/sipp"
SERVERS = os.environ.get("SERVERS", "kamailio respite").split()
ENGINES = os.environ.get("ENGINES", "sqlite postgres").split()
USERS = int(os.environ.get("USERS", "40000"))
REGISTER_SECONDS = int(os.environ.get("REGISTER_SECONDS", "3"))
REGISTER_RATES = [int(r) for r in os.environ.get("REGISTER_RATES", "500 1000 2000 3000 4000 5000 6000 8000 10000").split()]
CALL_SECONDS = int(os.environ.get("CALL_SECONDS", "6"))
CALL_RATES = [int(r) for r in os.environ.get("CALL_RATES", "200 400 600 800 1000 1200 1500 1800 2100 2400").split()]
RUN_SECONDS = int(os.environ.get("RUN_SECONDS", "6"))
PROBE_RATE = int(os.environ.get("PROBE_RATE", "200"))
SHM_MB = os.environ.get("SHM_MB", "256")
DOMAIN = "127.0.0.1"


def Server(kind, work, tag, cfg, defines=()):
    """A server on `cfg` with `-A` defines (stockcfg's, with this benchmark's -m)."""
    return stockcfg.Server(kind, work, tag, cfg=cfg, defines=defines, shm_mb=SHM_MB)


def stock_config(work, engine):
    """The stock file with its one documented edit: the database driver module."""
    with open(STOCK) as f:
        text = f.read()
    driver = "db_sqlite.so" if engine == "sqlite" else "db_postgres.so"
    text = text.replace('loadmodule "db_mysql.so"', f'loadmodule "{driver}"')
    path = os.path.join(work, f"kamailio-{engine}.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def users_file(work, count):
    path = os.path.join(work, "users.csv")
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(1, count + 1):
            f.write(f"u{i};[authentication username=u{i} password=pw{i}]\n")
    return path


def fresh_url(engine, work, tag, cluster):
    if engine == "sqlite":
        return dbsetup.sqlite_database(os.path.join(work, f"{tag}.sqlite"), USERS, DOMAIN)
    return cluster.fresh_database(USERS, DOMAIN)


def register_ladder(kind, engine, work, cluster, users):
    cfg = stock_config(work, engine)
    best = None
    for i, rate in enumerate(REGISTER_RATES):
        if rate * REGISTER_SECONDS > USERS:
            break
        url = fresh_url(engine, work, f"{kind}-{engine}-reg{i}", cluster)
        defines = ["WITH_MYSQL", "WITH_AUTH", "WITH_USRLOCDB", f'DBURL="{url}"']
        server = Server(kind, work, f"{engine}-reg{i}", cfg, defines)
        try:
            c0, p0 = server.cpu_ns(), cluster.cpu_ns() if cluster else 0
            r = run_sipp([f"127.0.0.1:{server.port}", "-sf", os.path.join(HERE, "register-auth.xml"),
                          "-inf", users, "-i", "127.0.0.1", "-p", str(free_port()),
                          "-r", str(rate), "-m", str(rate * REGISTER_SECONDS)], work, f"{kind}-{engine}-reg{i}",
                         REGISTER_SECONDS)
            server_ns = server.cpu_ns() - c0
            db_ns = (cluster.cpu_ns() - p0) if cluster else 0
            clean, per = step_line(f"register engine={engine}", kind, rate, REGISTER_SECONDS, r, server_ns, "register")
            if cluster:
                print(f"databases   postgres_cpu_us_per_register={db_ns / 1000 / max(r['ok'], 1):.1f}", flush=True)
        finally:
            server.stop()
        if not clean:
            break
        best = (rate, per)
    print(f"databases max what=register engine={engine} server={kind} clean_rate={best[0] if best else 0}/s "
          f"server_cpu_us_per_register={best[1] if best else 0:.1f}", flush=True)


class Cluster(dbsetup.PostgresCluster):
    def cpu_ns(self):
        """CPU of the postmaster and its children (each backend leads its own session)."""
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if int(pid) != self.proc.pid and ppid != self.proc.pid:
                    continue
                with open(f"/proc/{pid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return total


def main():
    print(f"databases machine cores={os.cpu_count()} load={os.getloadavg()[0]:.2f} users={USERS} "
          f"register_step={REGISTER_SECONDS}s shm={SHM_MB}MB", flush=True)
    servers = [k for k in SERVERS if k != "kamailio" or os.path.exists(KAMAILIO)]
    with tempfile.TemporaryDirectory(prefix="respite-dbbench-") as work:
        os.chmod(work, 0o755)
        cluster = Cluster(work, free_port()) if "postgres" in ENGINES else None
        try:
            users = users_file(work, USERS)
            for part in os.environ.get("PARTS", "register sqlquery twonode").split():
                for engine in ENGINES:
                    for kind in servers:
                        if part == "register":
                            register_ladder(kind, engine, work, cluster if engine == "postgres" else None, users)
                        elif part == "sqlquery":
                            import sqlquery
                            sqlquery.measure(kind, engine, work, cluster if engine == "postgres" else None)
                        elif part == "twonode" and engine == "postgres":
                            import twonode
                            twonode.measure(kind, work, cluster)
        finally:
            if cluster:
                cluster.stop()


if __name__ == "__main__":
    main()
