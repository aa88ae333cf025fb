#!/usr/bin/env python3
"""TCP benchmarks, Respite against Kamailio 5.6 on the same config (async-task-tcp.cfg),
same machine, one run; loopback only; every server started here is stopped here.

One `tcp ...` line per result:
  sipp-t1 / sipp-tn  SIPp OPTIONS over TCP, one connection (-t t1) or one per call (-t tn),
                     answered by t_reply-like send_reply from an async task worker: the
                     highest rate (steps of STEP_SECONDS) at which every call succeeds, and
                     the server's CPU per request (its whole process group, schedstat)
                     at that step. SIPp shares the 2 cores: its own CPU is given too.
  udp-probe          respite-stress OPTIONS over UDP at PROBE_RATE for PROBE_SECONDS, without
                     and then with PROBE_CONNECTIONS idle TCP connections open: p50/p99.
  idle               then up to tcp_max_connections (10,000) idle connections: how fast the
                     first PROBE_CONNECTIONS were accepted, shared memory per connection
                     (Respite: the tcpconn slot, fixed at start, and the allocator's growth;
                     Kamailio: the growth of core.shmmem real_used), the tcp main's private
                     memory (RSS growth), 100 more connections (refused?) and an OPTIONS on
                     100 of the open ones (answered?).
Needs a release build (make bench) and sipp; Kamailio is skipped with a line when missing.
"""
import json, os, re, resource, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import free_port, group_cpu_ns, stop_group  # noqa: E402
BIN = os.path.join(HERE, "..", "..", ".build", "release")
KAMAILIO = "/usr/sbin/kamailio"
STEP_SECONDS = int(os.environ.get("STEP_SECONDS", "5"))
RATES = [int(r) for r in os.environ.get("RATES", "1000 2000 4000 6000 8000 10000 12000 14000 16000").split()]
TN_RATES = [int(r) for r in os.environ.get("TN_RATES", "500 1000 1500 2000 3000 4000").split()]
PROBE_CONNECTIONS = int(os.environ.get("PROBE_CONNECTIONS", "5000"))
MAX_CONNECTIONS = 10000  # tcp_max_connections in async-task-tcp.cfg
PROBE_RATE = int(os.environ.get("PROBE_RATE", "500"))
PROBE_SECONDS = int(os.environ.get("PROBE_SECONDS", "5"))
SERVERS = os.environ.get("SERVERS", "respite kamailio").split()
SCENARIO = os.path.join(HERE, "..", "..", "Tests", "RuntimeTests", "Configs", "sipp-options.xml")


class Server:
    def __init__(self, kind, work):
        self.kind, self.port = kind, free_port()
        self.ctl = os.path.join(work, f"{kind}.ctl")
        self.shm = f"/respite-bench-tcp-{os.getpid()}"
        cfg = os.path.join(work, f"{kind}.cfg")
        text = open(os.path.join(HERE, "async-task-tcp.cfg")).read().replace("PORT", str(self.port)).replace("CTLSOCK", self.ctl)
        open(cfg, "w").write(text)
        self.logf = open(os.path.join(work, f"{kind}.log"), "w")
        if kind == "kamailio":
            cmd = [KAMAILIO, "-f", cfg, "-DD", "-E", "-m", "1024", "-M", "8", "-A", "WITH_CTL"]
        else:
            cmd = [os.path.join(BIN, "respite"), "-f", cfg, "-DD", "-E", "-m", "1024", "--shm-name", self.shm]
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(2.5)

    def stop(self):
        stop_group(self.proc)

    def cpu_ns(self):
        return group_cpu_ns(self.proc.pid)

    def shm_used(self):
        if self.kind == "kamailio":
            out = subprocess.run(["kamcmd", "-s", "unix:" + self.ctl, "core.shmmem"], capture_output=True, text=True).stdout
            m = re.search(r"real_used:\s*(\d+)", out)
            return int(m.group(1)) if m else None
        out = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", self.shm, "--json"], capture_output=True, text=True).stdout
        a = json.loads(out)["allocator"]
        return a["usedBytes"]

    def tcp_main_rss(self):
        """RSS in KB of the process holding the connections (Respite: tcp main; Kamailio: tcp main)."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.getpgid(int(pid)) != self.proc.pid:
                    continue
                if self.kind == "respite":
                    name = self.role_name(int(pid))
                else:
                    name = self.kamailio_role(int(pid))
                if name and "tcp main" in name:
                    with open(f"/proc/{pid}/status") as f:
                        return int(re.search(r"VmRSS:\s*(\d+)", f.read()).group(1))
            except (OSError, ProcessLookupError, AttributeError):
                continue
        return None

    def role_name(self, pid):
        if not hasattr(self, "_roles"):
            out = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", self.shm, "--json"], capture_output=True, text=True).stdout
            self._roles = {p["pid"]: p["description"] for p in json.loads(out)["processes"]}
        return self._roles.get(pid)

    def kamailio_role(self, pid):
        if not hasattr(self, "_roles"):
            out = subprocess.run(["kamcmd", "-s", "unix:" + self.ctl, "core.psx"], capture_output=True, text=True).stdout
            self._roles = {int(m.group(1)): m.group(2).strip() for m in re.finditer(r"PID:\s*(\d+)\s*\n\s*DSC:\s*(.*)", out)}
        return self._roles.get(pid)


def sipp(port, transport, rate, seconds):
    calls = rate * seconds
    start = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["sipp", f"127.0.0.1:{port}", "-sf", SCENARIO, "-s", "bench", "-t", transport, "-i", "127.0.0.1",
                          "-p", str(free_port()), "-m", str(calls), "-r", str(rate), "-timeout", str(seconds * 4 + 10),
                          "-timeout_error", "-nostdin", "-max_socket", "15000"],
                         capture_output=True, text=True, timeout=seconds * 4 + 30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = time.time() - start
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    ok, failed = (int(ok.group(1)) if ok else 0), (int(failed.group(1)) if failed else -1)
    sipp_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return ok, failed, elapsed, sipp_cpu


def sipp_steps(server, name, transport, rates):
    best = None
    for rate in rates:
        cpu0 = server.cpu_ns()
        ok, failed, elapsed, sipp_cpu = sipp(server.port, transport, rate, STEP_SECONDS)
        cpu = server.cpu_ns() - cpu0
        calls = rate * STEP_SECONDS
        achieved = ok / elapsed if elapsed > 0 else 0
        clean = ok == calls and failed == 0 and achieved >= rate * 0.9
        print(f"tcp-step scenario={name} server={server.kind} rate={rate} ok={ok} failed={failed} achieved={achieved:.0f} "
              f"server_cpu_us_per_req={cpu / max(ok, 1) / 1000:.1f} sipp_cpu_s={sipp_cpu:.2f} clean={'yes' if clean else 'no'}",
              file=sys.stderr, flush=True)
        if not clean:
            break
        best = (rate, cpu / max(ok, 1) / 1000, achieved, sipp_cpu / max(elapsed, 0.001))
    if best:
        print(f"tcp scenario={name} server={server.kind} max_clean_rate={best[0]} achieved={best[2]:.0f} "
              f"server_cpu_us_per_req={best[1]:.1f} sipp_cpu_share={best[3]:.2f} step_s={STEP_SECONDS}", flush=True)
    else:
        print(f"tcp scenario={name} server={server.kind} max_clean_rate=0 (the first step failed)", flush=True)


def probe(port):
    out = subprocess.run([os.path.join(BIN, "respite-stress"), "--target", f"127.0.0.1:{port}", "--rate", str(PROBE_RATE),
                          "--duration", str(PROBE_SECONDS), "--json", "--quiet"], capture_output=True, text=True)
    try:
        r = json.loads(out.stdout)
    except ValueError:
        return None
    return r


def connect_many(port, n):
    out, refused = [], 0
    for _ in range(n):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        out.append(s)
    return out


def closed_by_server(sockets, wait):
    """How many of `sockets` the server closed (EOF or reset) within `wait` seconds."""
    deadline, closed = time.time() + wait, set()
    while time.time() < deadline and len(closed) < len(sockets):
        for i, s in enumerate(sockets):
            if i in closed:
                continue
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.05)
    return len(closed)


def options(port, cid):
    return (f"OPTIONS sip:bench@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-{cid};rport\r\n"
            f"From: <sip:b@127.0.0.1>;tag={cid}\r\nTo: <sip:bench@127.0.0.1>\r\nCall-ID: {cid}\r\nCSeq: 1 OPTIONS\r\n"
            f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def idle_and_probe(server):
    """Opens PROBE_CONNECTIONS idle connections and probes UDP, then fills the table to
    tcp_max_connections (MAX_CONNECTIONS) and tries 100 more, which must be refused while
    the open ones still answer."""
    probe(server.port)  # warm-up
    base = probe(server.port)
    time.sleep(6)  # the probe's transactions leave (wt_timer) before memory is read
    shm0, rss0 = server.shm_used(), server.tcp_main_rss()
    start = time.time()
    conns = connect_many(server.port, PROBE_CONNECTIONS)
    opened = time.time() - start
    time.sleep(2)
    loaded = probe(server.port)
    for label, r in (("none", base), (str(PROBE_CONNECTIONS), loaded)):
        if r is None:
            print(f"tcp scenario=udp-probe server={server.kind} idle_tcp={label} result=failed", flush=True)
        else:
            print(f"tcp scenario=udp-probe server={server.kind} idle_tcp={label} rate={PROBE_RATE} sent={r.get('sent')} "
                  f"lost={r.get('lost')} p50_us={r.get('p50_us')} p99_us={r.get('p99_us')}", flush=True)
    conns += connect_many(server.port, MAX_CONNECTIONS - PROBE_CONNECTIONS)
    time.sleep(6)  # the second probe's transactions leave too
    shm1, rss1 = server.shm_used(), server.tcp_main_rss()
    per = lambda a, b: f"{(b - a) / MAX_CONNECTIONS:.0f}" if a is not None and b is not None else "na"
    slot = "na"
    if server.kind == "respite":
        out = subprocess.run([os.path.join(BIN, "respite-shm"), "--shm-name", server.shm, "--json"], capture_output=True, text=True).stdout
        slot = json.loads(out).get("tcpConnections", {}).get("slotBytes")
    extra = connect_many(server.port, 100)
    refused = closed_by_server(extra, 3)
    sample = conns[::MAX_CONNECTIONS // 100][:100]
    for i, s in enumerate(sample):
        s.setblocking(True)
        s.sendall(options(server.port, f"kept-{i}"))
    answered = 0
    for s in sample:
        s.settimeout(3)
        try:
            answered += s.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            pass
    print(f"tcp scenario=idle server={server.kind} connections={MAX_CONNECTIONS} first_{PROBE_CONNECTIONS}_in_s={opened:.2f} "
          f"accept_rate={PROBE_CONNECTIONS / opened:.0f}/s shm_growth_bytes_per_conn={per(shm0, shm1)} arena_slot_bytes={slot} "
          f"tcp_main_rss_kb_per_conn={(rss1 - rss0) / MAX_CONNECTIONS if rss0 and rss1 else 'na'} "
          f"beyond_limit_refused={refused}/100 open_ones_answered={answered}/{len(sample)}", flush=True)
    for s in conns + extra:
        s.close()


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    print(f"# tcp benchmarks {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} on {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as work:
        for kind in SERVERS:
            if kind == "kamailio" and not os.path.exists(KAMAILIO):
                print("tcp server=kamailio status=missing")
                continue
            server = Server(kind, work)
            try:
                sipp_steps(server, "sipp-t1", "t1", RATES)
                sipp_steps(server, "sipp-tn", "tn", TN_RATES)
                idle_and_probe(server)
            finally:
                server.stop()


main()
