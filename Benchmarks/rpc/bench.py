#!/usr/bin/env python3
"""RPC benchmarks, Respite against Kamailio 5.6 on the same config (rpc.cfg), same machine,
one run; loopback and unix sockets only; every process started here is stopped here.

One `rpc ...` line per result:
  kamcmd      KAMCMD_CALLS runs of Debian's kamcmd (one process and one connection per call,
              as an operator's script does) of core.psx: calls per second, and the server's
              CPU per call (its whole process group, schedstat).
  persistent  PERSISTENT_CALLS core.psx requests back to back on one ctl connection (a
              binrpc client written here): round trips per second and server CPU per call.
  probe       respite-stress OPTIONS over UDP at PROBE_RATE for PROBE_SECONDS, first alone
              and then while a client hammers core.psx on one connection as fast as the
              server answers: the receivers' p50/p99 latency, and the RPCs answered meanwhile.
Needs a release build (make bench); Kamailio is skipped with a line when missing.
"""
import json, os, socket, struct, subprocess, sys, tempfile, time, multiprocessing

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tcp"))
from servers import free_port, group_cpu_ns, stop_group  # noqa: E402
BIN = os.path.join(HERE, "..", "..", ".build", "release")
KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"
KAMCMD_CALLS = int(os.environ.get("KAMCMD_CALLS", "300"))
PERSISTENT_CALLS = int(os.environ.get("PERSISTENT_CALLS", "20000"))
PROBE_RATE = int(os.environ.get("PROBE_RATE", "2000"))
PROBE_SECONDS = int(os.environ.get("PROBE_SECONDS", "5"))
SERVERS = os.environ.get("SERVERS", "respite kamailio").split()


def binrpc_request(method, cookie):
    name = method.encode() + b"\0"
    body = bytes([0x80 | 0x10 | 1, len(name)]) + name if len(name) >= 8 else bytes([(len(name) << 4) | 1]) + name
    return bytes([0xA1, 0x03, len(body)]) + struct.pack(">I", cookie) + body


def read_packet(sock):
    data = b""
    while len(data) < 2:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        data += chunk
    ll, cl = ((data[1] >> 2) & 3) + 1, (data[1] & 3) + 1
    while len(data) < 2 + ll + cl:
        data += sock.recv(65536)
    length = int.from_bytes(data[2:2 + ll], "big")
    total = 2 + ll + cl + length
    while len(data) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        data += chunk
    return data[:total]


def hammer(path, seconds, counter):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    end, n = time.time() + seconds, 0
    while time.time() < end:
        s.sendall(binrpc_request("core.psx", n + 1))
        read_packet(s)
        n += 1
    counter.value = n
    s.close()


class Server:
    def __init__(self, kind, work):
        self.kind, self.port = kind, free_port()
        self.ctl = os.path.join(work, f"{kind}.ctl")
        cfg = os.path.join(work, f"{kind}.cfg")
        text = open(os.path.join(HERE, "rpc.cfg")).read().replace("PORT", str(self.port)).replace("CTLSOCK", self.ctl)
        open(cfg, "w").write(text)
        self.logf = open(os.path.join(work, f"{kind}.log"), "w")
        if kind == "kamailio":
            cmd = [KAMAILIO, "-f", cfg, "-DD", "-E", "-m", "256", "-M", "8", "-Y", work]
        else:
            cmd = [os.path.join(BIN, "respite"), "-f", cfg, "-DD", "-E", "-m", "256", "--shm-name", f"/respite-bench-rpc-{os.getpid()}"]
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.ctl) and subprocess.run([KAMCMD, "-s", "unix:" + self.ctl, "core.version"],
                                                           capture_output=True).returncode == 0:
                break
            time.sleep(0.1)

    def stop(self):
        stop_group(self.proc)

    def cpu_ns(self):
        return group_cpu_ns(self.proc.pid)


def via_kamcmd(server):
    cpu0, t0 = server.cpu_ns(), time.time()
    ok = 0
    for _ in range(KAMCMD_CALLS):
        r = subprocess.run([KAMCMD, "-s", "unix:" + server.ctl, "core.psx"], capture_output=True)
        ok += r.returncode == 0 and b"DSC:" in r.stdout
    elapsed, cpu = time.time() - t0, server.cpu_ns() - cpu0
    print(f"rpc scenario=kamcmd server={server.kind} method=core.psx calls={KAMCMD_CALLS} ok={ok} "
          f"calls_per_s={KAMCMD_CALLS / elapsed:.0f} server_cpu_us_per_call={cpu / KAMCMD_CALLS / 1000:.1f}", flush=True)


def persistent(server):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(server.ctl)
    cpu0, t0 = server.cpu_ns(), time.time()
    for i in range(PERSISTENT_CALLS):
        s.sendall(binrpc_request("core.psx", i + 1))
        read_packet(s)
    elapsed, cpu = time.time() - t0, server.cpu_ns() - cpu0
    s.close()
    print(f"rpc scenario=persistent server={server.kind} method=core.psx calls={PERSISTENT_CALLS} "
          f"calls_per_s={PERSISTENT_CALLS / elapsed:.0f} server_cpu_us_per_call={cpu / PERSISTENT_CALLS / 1000:.1f}", flush=True)


def probe(server):
    out = subprocess.run([os.path.join(BIN, "respite-stress"), "--target", f"127.0.0.1:{server.port}", "--rate", str(PROBE_RATE),
                          "--duration", str(PROBE_SECONDS), "--json", "--quiet"], capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None


def probes(server):
    quiet = probe(server)
    counter = multiprocessing.Value("i", 0)
    h = multiprocessing.Process(target=hammer, args=(server.ctl, PROBE_SECONDS + 1, counter))
    h.start()
    time.sleep(0.3)
    busy = probe(server)
    h.join()
    for name, r in (("alone", quiet), ("rpc-hammered", busy)):
        if not r:
            print(f"rpc scenario=probe server={server.kind} phase={name} (respite-stress gave no result)", flush=True)
            continue
        extra = f" rpc_calls_meanwhile={counter.value}" if name == "rpc-hammered" else ""
        print(f"rpc scenario=probe server={server.kind} phase={name} rate={PROBE_RATE} sent={r.get('sent')} "
              f"answered={r.get('answered')} p50_us={r.get('p50_us')} p99_us={r.get('p99_us')} p999_us={r.get('p999_us')}{extra}", flush=True)


def main():
    work = tempfile.mkdtemp(prefix="respite-bench-rpc-")
    load = os.getloadavg()[0]
    print(f"# rpc benchmark: {os.cpu_count()} cores, load average {load:.2f} at start; kamcmd {KAMCMD}", flush=True)
    for kind in SERVERS:
        if kind == "kamailio" and not os.path.exists(KAMAILIO):
            print("rpc server=kamailio skipped (not installed)", flush=True)
            continue
        server = Server(kind, work)
        try:
            via_kamcmd(server)
            persistent(server)
            probes(server)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
