#!/usr/bin/env python3
"""The TCP and IPv6 checks of issue 12's "done when", against Respite or Kamailio on the
same config (checks.cfg), on loopback; every process started here is stopped here.

    checks.py --server respite|kamailio [--respite PATH]

One line per check, `check NAME server=S result=pass|FAIL detail`, and exit status 1 when
any failed:
  tcp-large-and-pipelined  a 6 KB MESSAGE and two OPTIONS written at once on one connection
  udp-ipv6                 an OPTIONS over UDP to [::1]
  udp-to-tcp-relay         an INVITE over UDP relayed over TCP by an async task worker
                           (a listener here plays the callee and answers 200 on the connection)
  sipp-t1-task-workers     SIPp: 1,000 OPTIONS on one TCP connection (-t t1), answered by
                           t_reply from async task workers
"""
import argparse, os, re, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import free_port, stop_group  # noqa: E402


def request(method, user, port, cid, transport="TCP", host="127.0.0.1", body=b"", extra=()):
    head = [f"{method} sip:{user}@{host}:{port} SIP/2.0",
            f"Via: SIP/2.0/{transport} {host}:5099;branch=z9hG4bK-{cid};rport",
            "Max-Forwards: 70", f"From: <sip:t@{host}>;tag=t-{cid}", f"To: <sip:{user}@{host}>",
            f"Call-ID: {cid}", f"CSeq: 1 {method}", f"Contact: <sip:t@{host}:5099>", *extra,
            f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Server:
    def __init__(self, kind, respite, port, work):
        self.kind, self.port = kind, port
        cfg = os.path.join(work, "checks.cfg")
        with open(os.path.join(HERE, "checks.cfg")) as f:
            open(cfg, "w").write(f.read().replace("PORT", str(port)))
        self.log = open(os.path.join(work, kind + ".log"), "w")
        if kind == "kamailio":
            cmd = ["/usr/sbin/kamailio", "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8"]
        else:
            cmd = [respite, "-f", cfg, "-DD", "-E", "--shm-name", f"/respite-tcpchecks-{os.getpid()}"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)

    def stop(self):
        stop_group(self.proc)


def read_until(sock, done, timeout):
    data, end = b"", time.time() + timeout
    sock.settimeout(0.2)
    while not done(data) and time.time() < end:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
    return data


def tcp_large_and_pipelined(port):
    body = b"a line of a large body\r\n" * 260
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(request("MESSAGE", "big", port, "big-1", body=body) + request("OPTIONS", "p", port, "pipe-1")
              + request("OPTIONS", "p", port, "pipe-2"))
    data = read_until(s, lambda d: d.count(b"SIP/2.0 200 OK tcp IPv4") >= 3, 5)
    s.close()
    n = data.count(b"SIP/2.0 200 OK tcp IPv4")
    return n == 3, f"{n}/3 answered, body {len(body)} bytes"


def udp_ipv6(port):
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.settimeout(3)
    u.sendto(request("OPTIONS", "six", port, "v6-1", transport="UDP", host="[::1]"), ("::1", port))
    try:
        first = u.recvfrom(65536)[0].split(b"\r\n")[0].decode()
    except socket.timeout:
        first = "no reply"
    return first.startswith("SIP/2.0 200 OK udp IPv6"), first


def udp_to_tcp_relay(port):
    callee = socket.socket()
    callee.bind(("127.0.0.1", 0))
    callee.listen(4)
    callee.settimeout(5)
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    caller.settimeout(5)
    cport = caller.getsockname()[1]
    invite = request("INVITE", "relay", port, "relay-1", transport="UDP",
                     extra=[f"X-Peer: {callee.getsockname()[1]}"]).replace(b"127.0.0.1:5099", f"127.0.0.1:{cport}".encode())
    caller.sendto(invite, ("127.0.0.1", port))
    try:
        conn, _ = callee.accept()
    except socket.timeout:
        return False, "no TCP connection from the server"
    got = read_until(conn, lambda d: b"\r\n\r\n" in d, 5).decode(errors="replace")
    if os.environ.get("SHOW_RELAYED"):
        print(got)
    via_tcp = got.split("\r\n")[1].startswith("Via: SIP/2.0/TCP")
    keep = [l for l in got.split("\r\n\r\n")[0].split("\r\n")[1:] if l.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
    keep = [l + ";tag=callee" if l.startswith("To:") else l for l in keep]
    conn.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + f"\r\nContact: <sip:c@127.0.0.1:{callee.getsockname()[1]};transport=tcp>\r\nContent-Length: 0\r\n\r\n").encode())
    status = "nothing"
    end = time.time() + 5
    while time.time() < end:
        try:
            line = caller.recv(65536).split(b"\r\n")[0].decode()
        except socket.timeout:
            break
        status = line
        if not line.startswith("SIP/2.0 1"):
            break
    conn.close()
    return via_tcp and status.startswith("SIP/2.0 200"), f"relayed with TCP Via: {via_tcp}; caller got {status!r}"


def sipp_t1(port):
    scenario = os.path.join(HERE, "..", "..", "Tests", "RuntimeTests", "Configs", "sipp-options.xml")
    out = subprocess.run(["sipp", f"127.0.0.1:{port}", "-sf", scenario, "-s", "task", "-t", "t1", "-i", "127.0.0.1",
                          "-p", str(free_port()), "-m", "1000", "-r", "500", "-timeout", "30", "-timeout_error",
                          "-nostdin", "-trace_stat", "-stf", "/dev/null"],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    f = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    ok, failed = (int(m.group(1)) if m else -1), (int(f.group(1)) if f else -1)
    return out.returncode == 0 and ok == 1000 and failed == 0, f"{ok} successful, {failed} failed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=["respite", "kamailio"], required=True)
    ap.add_argument("--respite", default=os.path.join(HERE, "..", "..", ".build", "debug", "respite"))
    a = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        server = Server(a.server, a.respite, free_port(), work)
        try:
            for name, check in [("tcp-large-and-pipelined", tcp_large_and_pipelined), ("udp-ipv6", udp_ipv6),
                                ("udp-to-tcp-relay", udp_to_tcp_relay), ("sipp-t1-task-workers", sipp_t1)]:
                try:
                    ok, detail = check(server.port)
                except Exception as e:  # a check that breaks is a failure, not a crash of the run
                    ok, detail = False, f"{type(e).__name__}: {e}"
                failed += not ok
                print(f"check {name} server={a.server} result={'pass' if ok else 'FAIL'} {detail}", flush=True)
        finally:
            server.stop()
            if failed:
                sys.stderr.write(open(os.path.join(work, a.server + ".log")).read()[-3000:])
    sys.exit(1 if failed else 0)


main()
