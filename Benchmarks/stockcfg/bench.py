#!/usr/bin/env python3
"""Debian's stock kamailio.cfg (Kamailio 5.6, /etc/kamailio/kamailio.cfg) unchanged, on
Kamailio 5.6.3 and on Respite, same machine, one run, SIPp on loopback. Both servers start
as a user starts them: `-f kamailio.cfg -l udp:127.0.0.1:PORT -m SHM_MB` (default 64, both
servers' default; Kamailio also gets -M 8), plus -E: the stock file logs to syslog, and on a machine without a syslog daemon
glibc falls back to /dev/console, which costed Kamailio ~13 ms of CPU per call here; with
-E both write the same lines (acc's, one per answered transaction) to a file. Every process
started here is stopped here.

One `stockcfg ...` line per measurement:
  register  SIPp sends one REGISTER per call, every call a user not registered before
            (register.xml), at each rate of REGISTER_RATES for REGISTER_SECONDS (3: every
            REGISTER adds a contact, and the table must hold a whole step), on a server
            started for that step: successful, failed, retransmitted, the rate reached, the
            server's CPU per REGISTER (its whole process group, schedstat) and SIPp's CPU.
  calls     a SIPp callee (uas.xml) registers as "uas"; a SIPp caller (uac.xml) calls it
            through the proxy (INVITE with SDP, 100 from the proxy, 200, ACK and BYE along the
            Record-Route) at each rate of CALL_RATES for CALL_SECONDS (8: longer than tm's
            5 s wait timer, so the transactions a server keeps reach their steady number)
            on one server: as above, per call.
  max       the highest clean rate of each ladder: no failed call, no retransmission, and
            at least 95% of the asked rate reached. A step that is not clean ends the ladder.
  memory    MEMORY_USERS unique users registered at MEMORY_RATE/s on a fresh server: the
            growth of the arena the server holds (respite-shm: used less what sits freed in
            bins and caches) and of Kamailio's `kamcmd core.shmmem` real_used, per contact.
Needs a release build (make bench), sipp and the kamailio package (skipped with a line when
missing).
"""
import json, os, resource, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tcp"))
from servers import free_port, group_cpu_ns, stop_group  # noqa: E402

BIN = os.environ.get("RESPITE_BIN", os.path.join(HERE, "..", "..", ".build", "release"))
STOCK = os.environ.get("STOCK_CFG", "/etc/kamailio/kamailio.cfg")
KAMAILIO, KAMCMD, SIPP = "/usr/sbin/kamailio", "/usr/sbin/kamcmd", shutil.which("sipp") or "/usr/bin/sipp"
SERVERS = os.environ.get("SERVERS", "kamailio respite").split()
REGISTER_SECONDS = int(os.environ.get("REGISTER_SECONDS", "3"))
CALL_SECONDS = int(os.environ.get("CALL_SECONDS", "8"))
REGISTER_RATES = [int(r) for r in os.environ.get("REGISTER_RATES", "2000 4000 6000 8000 10000 12000 14000 16000").split()]
CALL_RATES = [int(r) for r in os.environ.get("CALL_RATES", "200 300 400 500 600 800 1000 1200 1500 1800 2100 2400 2700").split()]
MEMORY_USERS = int(os.environ.get("MEMORY_USERS", "10000"))
SHM_MB = os.environ.get("SHM_MB", "64")
MEMORY_RATE = int(os.environ.get("MEMORY_RATE", "1000"))


class Server:
    """One server on a config (the stock one unless `cfg` says), with `-A` defines, in its
    own process group and run directory."""

    def __init__(self, kind, work, tag, cfg=STOCK, defines=(), shm_mb=SHM_MB):
        self.kind, self.port = kind, free_port()
        self.run_dir = os.path.join(work, f"{kind}-{tag}")
        os.makedirs(self.run_dir)
        self.shm = f"/respite-bench-stock-{os.getpid()}-{tag}"
        listen = ["-l", f"udp:127.0.0.1:{self.port}"]
        defines = [a for d in defines for a in ("-A", d)]
        if kind == "kamailio":
            cmd = [KAMAILIO, "-f", cfg, *listen, "-DD", "-E", "-m", shm_mb, "-M", "8", "-Y", self.run_dir, *defines]
        else:
            cmd = [os.path.join(BIN, "respite"), "-f", cfg, *listen, "-DD", "-E", "-m", shm_mb,
                   "--shm-name", self.shm, "-Y", self.run_dir, *defines]
        self.logf = open(os.path.join(self.run_dir, "server.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready()

    def wait_ready(self):
        """Ready once an OPTIONS to the server gets a reply (the stock config's 200 Keepalive)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        deadline = time.time() + 15
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.kind} exited at start: {self.log_tail()}")
                s.sendto(options(s.getsockname()[1], self.port), ("127.0.0.1", self.port))
                try:
                    if s.recv(65536).startswith(b"SIP/2.0 "):
                        time.sleep(0.5)  # every process has started serving
                        return
                except socket.timeout:
                    continue
            raise RuntimeError(f"{self.kind} did not answer OPTIONS within 15 s: {self.log_tail()}")
        finally:
            s.close()

    def log_tail(self):
        self.logf.flush()
        with open(self.logf.name, errors="replace") as f:
            return f.read()[-600:]

    def cpu_ns(self):
        return group_cpu_ns(self.proc.pid)

    def shared_bytes(self):
        """Shared memory the server holds: Kamailio's real_used; Respite's arena in use."""
        if self.kind == "kamailio":
            out = subprocess.run([KAMCMD, "-s", f"unix:{self.run_dir}/kamailio_ctl", "core.shmmem"],
                                 capture_output=True, text=True, timeout=10).stdout
            return next(int(line.split(":")[1]) for line in out.splitlines() if "real_used" in line)
        out = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", self.shm, "--json"],
                             capture_output=True, text=True, timeout=10).stdout
        a = json.loads(out)["allocator"]
        return a["usedBytes"] - a["binnedBytes"] - a["cachedBytes"]

    def contacts(self):
        if self.kind == "kamailio":
            out = subprocess.run([KAMCMD, "-s", f"unix:{self.run_dir}/kamailio_ctl", "stats.get_statistics",
                                  "location_contacts"], capture_output=True, text=True, timeout=10).stdout
            return int(out.split("=")[-1].strip()) if "=" in out else -1  # "usrloc:location_contacts = N"
        out = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", self.shm, "--json"],
                             capture_output=True, text=True, timeout=10).stdout
        return json.loads(out)["usrloc"]["contacts"]

    def stop(self):
        stop_group(self.proc)
        self.logf.close()


def options(local_port, port):
    return (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{time.monotonic_ns()}\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: probe-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def register_callee(server, uas_port):
    """Registers user "uas" at the SIPp callee's address; the stock config answers 200."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    msg = (f"REGISTER sip:127.0.0.1:{server.port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{s.getsockname()[1]};branch=z9hG4bKreg{time.monotonic_ns()}\r\n"
           f"From: <sip:uas@127.0.0.1:{server.port}>;tag=r1\r\nTo: <sip:uas@127.0.0.1:{server.port}>\r\n"
           f"Call-ID: reg-uas-{time.monotonic_ns()}\r\nCSeq: 1 REGISTER\r\n"
           f"Contact: <sip:uas@127.0.0.1:{uas_port}>\r\nExpires: 3600\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    s.sendto(msg, ("127.0.0.1", server.port))
    reply = s.recv(65536)
    s.close()
    if not reply.startswith(b"SIP/2.0 200"):
        raise RuntimeError(f"{server.kind}: callee registration answered {reply[:40]!r}")


def run_sipp(args, work, name, seconds):
    """Runs one SIPp client to completion; returns its last statistics row and its CPU."""
    stat, errors = os.path.join(work, f"{name}.csv"), os.path.join(work, f"{name}-errors.log")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run([SIPP, *args, "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
                    "-trace_err", "-error_file", errors,
                    "-timeout", f"{seconds + 30}s", "-recv_timeout", "5000"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 60)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stat) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    row = dict(zip(rows[0], rows[-1]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    first_error = ""
    if os.path.exists(errors):
        with open(errors, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip() and not line.startswith("sipp")
                     and "following events occurred" not in line]
        # SIPp writes the unexpected message after the reason; its status line is on the next line.
        first_error = " / ".join(lines[:2])[:240] if lines else ""
    return {"ok": int(row["SuccessfulCall(C)"]), "failed": int(row["FailedCall(C)"]),
            "retrans": int(row["Retransmissions(C)"]), "wall": wall, "client_cpu": cpu,
            "first_error": first_error}


def step_line(what, kind, rate, seconds, r, server_ns, unit):
    achieved = r["ok"] / max(r["wall"], 1e-9)
    clean = r["failed"] == 0 and r["retrans"] == 0 and r["ok"] >= 0.95 * rate * seconds \
        and achieved >= 0.95 * rate * seconds / (seconds + 1)
    per = server_ns / 1000 / max(r["ok"], 1)
    print(f"stockcfg {what} server={kind} rate={rate}/s ok={r['ok']} failed={r['failed']} "
          f"retrans={r['retrans']} reached={achieved:.0f}/s server_cpu_us_per_{unit}={per:.1f} "
          f"server_cpu={server_ns / 1e9 / r['wall'] * 100:.0f}% sipp_cpu={r['client_cpu'] / r['wall'] * 100:.0f}% "
          f"clean={'yes' if clean else 'no'}", flush=True)
    if r["first_error"]:
        print(f"stockcfg   sipp's first error: {r['first_error']}", flush=True)
    return clean, per


def register_ladder(kind, work):
    best = None
    for i, rate in enumerate(REGISTER_RATES):
        server = Server(kind, work, f"reg{i}")
        try:
            c0 = server.cpu_ns()
            r = run_sipp(["127.0.0.1:%d" % server.port, "-sf", os.path.join(HERE, "register.xml"),
                          "-i", "127.0.0.1", "-p", str(free_port()), "-key", "step", str(i),
                          "-r", str(rate), "-m", str(rate * REGISTER_SECONDS)], work, f"{kind}-reg{i}", REGISTER_SECONDS)
            clean, per = step_line("register", kind, rate, REGISTER_SECONDS, r, server.cpu_ns() - c0, "register")
        finally:
            server.stop()
        if not clean:
            break
        best = (rate, per)
    print(f"stockcfg max what=register server={kind} clean_rate={best[0] if best else 0}/s "
          f"server_cpu_us_per_register={best[1] if best else 0:.1f}", flush=True)


def call_ladder(kind, work):
    server = Server(kind, work, "calls")
    uas_port = free_port()
    uas = subprocess.Popen([SIPP, "-sf", os.path.join(HERE, "uas.xml"), "-i", "127.0.0.1", "-p", str(uas_port),
                            "-nostdin"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    best = None
    try:
        time.sleep(0.5)
        register_callee(server, uas_port)
        for i, rate in enumerate(CALL_RATES):
            c0 = server.cpu_ns()
            r = run_sipp(["127.0.0.1:%d" % server.port, "-sf", os.path.join(HERE, "uac.xml"), "-s", "uas",
                          "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate),
                          "-m", str(rate * CALL_SECONDS)], work, f"{kind}-call{i}", CALL_SECONDS)
            time.sleep(1)  # the last transactions finish and their timers fire
            clean, per = step_line("calls", kind, rate, CALL_SECONDS, r, server.cpu_ns() - c0, "call")
            if not clean:
                break
            best = (rate, per)
    finally:
        stop_group(uas)
        server.stop()
    print(f"stockcfg max what=calls server={kind} clean_rate={best[0] if best else 0}/s "
          f"server_cpu_us_per_call={best[1] if best else 0:.1f}", flush=True)


def memory(kind, work):
    server = Server(kind, work, "mem")
    try:
        time.sleep(1)
        before = server.shared_bytes()
        r = run_sipp(["127.0.0.1:%d" % server.port, "-sf", os.path.join(HERE, "register.xml"),
                      "-i", "127.0.0.1", "-p", str(free_port()), "-key", "step", "m",
                      "-r", str(MEMORY_RATE), "-m", str(MEMORY_USERS)], work, f"{kind}-mem",
                     MEMORY_USERS // MEMORY_RATE)
        time.sleep(2)
        after, contacts = server.shared_bytes(), server.contacts()
    finally:
        server.stop()
    print(f"stockcfg memory server={kind} registered={r['ok']} contacts={contacts} "
          f"shared_before={before} shared_after={after} bytes_per_contact={(after - before) / max(contacts, 1):.0f}",
          flush=True)


def main():
    if not os.path.exists(STOCK):
        print(f"stockcfg skipped: {STOCK} is missing (apt-get install kamailio)")
        return
    servers = [k for k in SERVERS if k != "kamailio" or os.path.exists(KAMAILIO)]
    if "kamailio" in SERVERS and "kamailio" not in servers:
        print("stockcfg kamailio=missing")
    print(f"stockcfg machine cores={os.cpu_count()} load={os.getloadavg()[0]:.2f} "
          f"register_step={REGISTER_SECONDS}s call_step={CALL_SECONDS}s shm={SHM_MB}MB sipp={subprocess.run([SIPP, '-v'], capture_output=True, text=True).stdout.split()[1]}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="respite-stockcfg-") as work:
        for what in os.environ.get("PARTS", "memory register calls").split():
            for kind in servers:
                {"memory": memory, "register": register_ladder, "calls": call_ladder}[what](kind, work)


if __name__ == "__main__":
    main()
