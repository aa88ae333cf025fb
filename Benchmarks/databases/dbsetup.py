"""Databases for the database benchmarks, made the way a Kamailio user makes them: from
Kamailio 5.6's own schema files (Debian's kamailio package, /usr/share/kamailio), with
subscribers added as kamctl adds them (password, ha1, ha1b). A PostgreSQL cluster is a
throw-away one: initdb in a scratch folder, a free loopback port, stopped and removed by
`stop()`. As root, PostgreSQL's programs run as the `postgres` user."""
import glob, hashlib, os, shutil, sqlite3, subprocess, time

SCHEMA = "/usr/share/kamailio"
TABLES = ["standard", "auth_db", "usrloc", "acc"]


def ha1(user, domain, password):
    return hashlib.md5(f"{user}:{domain}:{password}".encode()).hexdigest()


def subscriber_rows(users, domain):
    """(username, domain, password, ha1, ha1b) of users u1..uN, password "pw<N>"."""
    for i in range(1, users + 1):
        u, p = f"u{i}", f"pw{i}"
        yield u, domain, p, ha1(u, domain, p), ha1(f"{u}@{domain}", domain, p)


def sqlite_database(path, users, domain):
    """A SQLite file made from Kamailio's SQLite schema files, with `users` subscribers."""
    db = sqlite3.connect(path)
    for t in TABLES:
        with open(f"{SCHEMA}/db_sqlite/{t}-create.sql") as f:
            db.executescript(f.read())
    db.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?,?,?,?,?)",
                   subscriber_rows(users, domain))
    db.commit()
    db.close()
    return "sqlite:///" + path  # the path is absolute: four slashes in all


def pg_bin():
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(versions[-1]) if versions else None


class PostgresCluster:
    """initdb + postgres on 127.0.0.1:port, database and user `kamailio`, password `kamailiorw`."""

    def __init__(self, work, port):
        self.bin, self.port = pg_bin(), port
        if not self.bin:
            raise RuntimeError("PostgreSQL's server is missing (apt-get install postgresql)")
        self.dir = os.path.join(work, f"pg-{port}")
        os.makedirs(self.dir)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write("kamailiorw\n")
        if os.getuid() == 0:
            shutil.chown(pw, "postgres", "postgres")
        self.run([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "kamailio", f"--pwfile={pw}",
                  "-A", "md5", "-E", "UTF8", "--locale=C", "--no-sync"], as_postgres=True)
        self.proc = None
        self.start()
        self.run([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "kamailio", "kamailio"])
        self.url = f"postgres://kamailio:kamailiorw@127.0.0.1:{port}/kamailio"

    def run(self, cmd, as_postgres=False, **kw):
        if as_postgres and os.getuid() == 0:
            cmd = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]
        env = dict(os.environ, PGPASSWORD="kamailiorw")
        return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, **kw)

    def start(self):
        cmd = [f"{self.bin}/postgres", "-D", f"{self.dir}/data", "-h", "127.0.0.1", "-p", str(self.port),
               "-k", self.dir, "-c", "max_connections=200", "-c", "shared_buffers=128MB"]
        if os.getuid() == 0:
            cmd = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(300):
            if subprocess.run([f"{self.bin}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def psql(self, sql=None, file=None, stdin=None):
        cmd = [f"{self.bin}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
               "-p", str(self.port), "-U", "kamailio", "-d", "kamailio"]
        cmd += ["-c", sql] if sql else ["-f", file] if file else []
        return self.run(cmd, input=stdin).stdout

    def fresh_database(self, users, domain):
        """Drops every table, then Kamailio's PostgreSQL schema and `users` subscribers."""
        self.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        for t in TABLES:
            self.psql(file=f"{SCHEMA}/postgres/{t}-create.sql")
        rows = "".join("\t".join(r) + "\n" for r in subscriber_rows(users, domain))
        self.psql(stdin="COPY subscriber (username, domain, password, ha1, ha1b) FROM STDIN;\n" + rows + "\\.\n")
        self.psql("VACUUM ANALYZE")
        return self.url

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 2)  # SIGINT: fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
