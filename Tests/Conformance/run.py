#!/usr/bin/env python3
"""Conformance runner: plays each case of cases/ against Kamailio 5.6 or Respite.

    run.py --server respite|kamailio [--filter NAME] [--respite PATH] [--keep-logs]

A case is cases/NAME.cfg (a config that runs unchanged on both servers) plus
cases/NAME.case (the scripted exchange; the format is in README.md). For each case the
runner substitutes the tokens of the config, starts the server in its own process group,
plays the exchange over loopback UDP, checks every expectation, then stops the whole group
(SIGTERM, then SIGKILL) and removes the shared-memory object it named. Standard library
only; every wait is bounded.
"""

import argparse
import json
import os
import random
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "kamcmd"
DEFAULT_WAIT_MS = 3000


class CaseFailure(Exception):
    pass


# ---------------------------------------------------------------------------------------
# SIP messages


def parse_message(data):
    """Returns a dict: kind ('reply'/'request'), code, reason, method, headers, text."""
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    msg = {"text": text, "headers": []}
    first = lines[0]
    if first.startswith("SIP/2.0 "):
        parts = first.split(" ", 2)
        msg["kind"] = "reply"
        msg["code"] = int(parts[1])
        msg["reason"] = parts[2] if len(parts) > 2 else ""
    else:
        parts = first.split(" ")
        msg["kind"] = "request"
        msg["method"] = parts[0]
        msg["ruri"] = parts[1] if len(parts) > 1 else ""
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            msg["headers"].append((name.strip(), value.strip()))
    cseq = header(msg, "CSeq") or ""
    if msg["kind"] == "reply":
        msg["method"] = cseq.split(" ")[-1] if cseq else ""
    return msg


def header(msg, name):
    for n, v in msg["headers"]:
        if n.lower() == name.lower():
            return v
    return None


def headers_all(msg, name):
    return [v for n, v in msg["headers"] if n.lower() == name.lower()]


class Request:
    """One client transaction the case created with `send`."""

    def __init__(self, method, port, lport, user="conf", extra=None, body=""):
        self.method = method
        self.port = port
        self.lport = lport
        self.user = user
        self.ruri = "sip:%s@127.0.0.1:%d" % (user, port)
        self.callid = "%08x@conformance" % random.getrandbits(32)
        self.ftag = "%08x" % random.getrandbits(32)
        self.branch = "z9hG4bK-conf-%08x" % random.getrandbits(32)
        self.cseq = 1
        self.extra = list(extra or [])
        self.body = body
        self.sent_at = None
        self.final = None  # the final reply, once seen (for ACK)

    def build(self, method=None, branch=None, to_tag=None, extra=None):
        method = method or self.method
        branch = branch or self.branch
        to = "<sip:%s@127.0.0.1:%d>" % (self.user, self.port)
        if to_tag:
            to += ";tag=" + to_tag
        lines = [
            "%s %s SIP/2.0" % (method, self.ruri),
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.lport, branch),
            "Max-Forwards: 70",
            "From: <sip:runner@127.0.0.1:%d>;tag=%s" % (self.lport, self.ftag),
            "To: " + to,
            "Call-ID: " + self.callid,
            "CSeq: %d %s" % (self.cseq, method),
            "Contact: <sip:runner@127.0.0.1:%d>" % self.lport,
            "User-Agent: respite-conformance",
        ]
        lines += extra if extra is not None else self.extra
        body = self.body if method == self.method else ""
        lines.append("Content-Length: %d" % len(body.encode()))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def build_reply(req, code, reason, to_tag="nexthop-1"):
    """A reply from the next hop to a relayed request `req` (a parsed message)."""
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for v in headers_all(req, "Via"):
        lines.append("Via: " + v)
    lines.append("From: " + (header(req, "From") or ""))
    to = header(req, "To") or ""
    if code > 100 and ";tag=" not in to:
        to += ";tag=" + to_tag
    lines.append("To: " + to)
    lines.append("Call-ID: " + (header(req, "Call-ID") or ""))
    lines.append("CSeq: " + (header(req, "CSeq") or ""))
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---------------------------------------------------------------------------------------
# Case files


def parse_case(path, server):
    """Returns (options, steps); steps are (lineno, verb, args) for this server only."""
    options = {"only": None, "config_error": None, "http_server": False}
    steps = []
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^\[(kamailio|respite)\]\s*(.*)$", line)
            if m:
                if m.group(1) != server:
                    continue
                line = m.group(2)
            words = shlex.split(line, comments=False)
            verb, args = words[0], words[1:]
            if verb == "only":
                options["only"] = args[0]
                continue
            if verb == "config-error":
                options["config_error"] = args[0] if args else ""
                continue
            if verb == "http-server":
                options["http_server"] = True
                continue
            steps.append((lineno, verb, args))
    return options, steps


def parse_ms(text):
    m = re.match(r"^(\d+)(ms|s)?$", text)
    if not m:
        raise CaseFailure("bad duration %r" % text)
    n = int(m.group(1))
    return n * 1000 if m.group(2) == "s" else n


def kv_args(args):
    """Splits `key=value`, `key~value`, `key>=value`, `key<=value` words."""
    out = []
    for a in args:
        m = re.match(r"^([a-z-]+)(>=|<=|!~|~|=)(.*)$", a, re.S)
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
        else:
            out.append((a, None, None))
    return out


# ---------------------------------------------------------------------------------------
# Servers


def free_udp_port():
    """A 127.0.0.1 port free a moment ago for UDP and for TCP: a `listen` without a
    transport (the shipped examples) binds both."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
            t.close()


def udp_bound(port):
    want = ":%04X" % port
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                local = line.split()[1]
                if local.endswith(want):
                    return True
    except OSError:
        return False
    return False


def group_members(pgid):
    """Live (non-zombie) processes of process group `pgid`, from /proc."""
    members = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": split after the command name.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry))
    return members


class HTTPServer:
    """Tests/Helpers/http_test_server.py on loopback, for the cases that declare
    `http-server`: its port replaces the token HTTPPORT in the config."""

    SCRIPT = os.path.join(REPO, "Tests", "Helpers", "http_test_server.py")

    def __init__(self):
        # Its stderr is dropped: a client giving up mid-answer makes it print a traceback.
        self.proc = subprocess.Popen([sys.executable, self.SCRIPT], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        # Its first line is the port; bounded like every other wait of the runner.
        ready = select.select([self.proc.stdout], [], [], 10)[0]
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            raise CaseFailure("http_test_server.py did not print its port (got %r)" % line)
        self.port = int(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdout.close()


class Server:
    def __init__(self, kind, respite, cfg_text, port, workdir, index, defines=None):
        self.kind = kind
        self.defines = defines or {}
        self.respite = respite
        self.port = port
        self.workdir = workdir
        self.ctl = os.path.join(workdir, "ctl-%d.sock" % index)
        self.shm = "/respite-conf-%d-%d" % (os.getpid(), index)
        self.cfg = os.path.join(workdir, "case-%d.cfg" % index)
        self.log = os.path.join(workdir, "case-%d.log" % index)
        with open(self.cfg, "w") as f:
            f.write(cfg_text.replace("CTLSOCK", self.ctl))
        self.proc = None
        self.roles = {}

    def start(self):
        cmd = self.command()
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self.workdir)
        # Ready means every process has started (see ready()); the condition is polled
        # every 20 ms, never waited for blindly.
        deadline = time.monotonic() + 10
        state = "nothing yet"
        while True:
            if self.proc.poll() is not None:
                raise CaseFailure("server exited at start (rc %s): %s" % (self.proc.returncode, self.log_tail()))
            ready, state = self.ready()
            if ready:
                break
            if time.monotonic() >= deadline:
                raise CaseFailure("server not ready within 10 s (%s): %s" % (state, self.log_tail()))
            time.sleep(0.02)

    def ready(self):
        """(ready, what was seen): every process of the server has started.

        Respite: respite-shm --json shows a complete process table (the master claims
        every slot before it forks the first worker, and a worker's slot turns "running"
        once it is forked) whose entries are all running and alive.
        Kamailio: its ctl handler answers core.psx (ctl.so is the last module the configs
        load, so its process is forked after the others), every process listed has a live
        pid, and the process group holds none the table does not list.
        """
        if not udp_bound(self.port):
            return False, "udp 127.0.0.1:%d not bound" % self.port
        try:
            if self.kind == "kamailio":
                out = subprocess.run([KAMCMD, "-s", "unix:" + self.ctl, "core.psx"], capture_output=True,
                                     text=True, timeout=5)
                pids = [int(m.group(1)) for m in re.finditer(r"PID:\s*(\d+)", out.stdout)]
                if out.returncode != 0 or not pids:
                    return False, "core.psx does not answer yet"
                members = group_members(self.proc.pid)
                missing = members - set(pids)
                dead = [p for p in pids if p <= 0 or p not in members]
                if missing or dead:
                    return False, "unlisted %s, not running %s" % (sorted(missing), dead)
                return True, "%d processes" % len(pids)
            tool = os.path.join(os.path.dirname(self.respite), "respite-shm")
            out = subprocess.run([tool, "--shm-name", self.shm, "--json"], capture_output=True, text=True, timeout=5)
            if out.returncode != 0:
                return False, "no readable arena yet"
            data = json.loads(out.stdout)
            procs = data.get("processes") or []
            seen = ", ".join("%s: %s" % (p.get("description"), p.get("state")) for p in procs)
            done = (data.get("header", {}).get("ready") and len(procs) >= 2
                    and all(p.get("state") == "running" and p.get("alive") and p.get("pid", 0) > 0 for p in procs))
            return bool(done), seen
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            return False, "cannot read the process table: %s" % e

    def expect_config_error(self, pattern):
        """The server must refuse the config: exit non-zero within 10 s, log matching."""
        cmd = self.command()
        if self.kind == "respite":
            cmd.append("-c")  # respite -c runs every load-time check (docs/async.md#load-time-checks)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self.workdir)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise CaseFailure("server accepted the config (still running after 10 s)")
        if rc == 0:
            raise CaseFailure("server exited 0; expected a config error: %s" % self.log_tail())
        if pattern and not re.search(pattern.lstrip("~"), self.log_text(), re.M):
            raise CaseFailure("config refused, but the log does not match %r: %s" % (pattern, self.log_tail()))

    def command(self):
        defines = [arg for name, value in self.defines.items() for arg in ("-A", "%s=%s" % (name, value))]
        if self.kind == "kamailio":
            return [KAMAILIO, "-f", self.cfg, "-DD", "-E", "-m", "64", "-M", "8", "-A", "WITH_CTL"] + defines
        return [self.respite, "-f", self.cfg, "-DD", "-E", "--shm-name", self.shm] + defines

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=3):
        lines = [l for l in self.log_text().splitlines() if l.strip()]
        return " | ".join(l.strip() for l in lines[-n:])[-600:]

    def process_roles(self):
        """pid -> description, from kamcmd core.psx or respite-shm --json."""
        if self.kind == "kamailio":
            out = subprocess.run([KAMCMD, "-s", "unix:" + self.ctl, "core.psx"], capture_output=True,
                                 text=True, timeout=5).stdout
            roles = {}
            for m in re.finditer(r"PID:\s*(\d+)\s*\n\s*DSC:\s*(.*)", out):
                roles[int(m.group(1))] = m.group(2).strip()
            return roles
        tool = os.path.join(os.path.dirname(self.respite), "respite-shm")
        out = subprocess.run([tool, "--shm-name", self.shm, "--json"], capture_output=True, text=True,
                             timeout=5).stdout
        data = json.loads(out)
        return {int(p["pid"]): p.get("description", "") for p in data.get("processes", [])}

    def role_of(self, pid):
        if pid not in self.roles:
            for _ in range(5):
                try:
                    self.roles = self.process_roles()
                except (OSError, ValueError, subprocess.SubprocessError) as e:
                    raise CaseFailure("cannot read the process table: %s" % e)
                if pid in self.roles:
                    break
                time.sleep(0.2)
        return self.roles.get(pid)

    def stop(self):
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            self.proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.logf.close()
        shm_path = "/dev/shm" + self.shm
        if os.path.exists(shm_path):
            os.unlink(shm_path)
        if os.path.exists(self.ctl):
            os.unlink(self.ctl)


# ---------------------------------------------------------------------------------------
# Playing a case


class Player:
    def __init__(self, server, port):
        self.server = server
        self.port = port
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client.bind(("127.0.0.1", 0))
        self.lport = self.client.getsockname()[1]
        self.replies = []  # (time, parsed) not yet consumed
        self.request = None
        self.last = None  # the last reply matched by `expect`
        self.relayed = []  # requests the next hop received, not yet consumed
        self.last_relayed = None

    def close(self):
        self.client.close()
        self.nexthop.close()

    def bind_nexthop(self):
        self.nexthop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.nexthop.bind(("127.0.0.1", 0))
        return self.nexthop.getsockname()[1]

    def pump(self, until):
        """Receives everything that arrives until `until` (monotonic) or the first datagram."""
        import select
        timeout = max(0.0, until - time.monotonic())
        ready, _, _ = select.select([self.client, self.nexthop], [], [], timeout)
        now = time.monotonic()
        for s in ready:
            data, addr = s.recvfrom(65535)
            msg = parse_message(data)
            msg["addr"] = addr
            if s is self.client:
                self.replies.append((now, msg))
            elif msg["kind"] == "request":
                self.relayed.append((now, msg))
            # replies to the next hop (none expected) are ignored
        return bool(ready)

    def send(self, data):
        self.client.sendto(data, ("127.0.0.1", self.port))

    # -- verbs -----------------------------------------------------------------------

    def do_send(self, args):
        method = args[0]
        if method in ("CANCEL", "ACK") and self.request is not None and not any(a.startswith("new") for a in args[1:]):
            return self.send_in_transaction(method)
        user, extra, body = "conf", [], ""
        for key, op, val in kv_args(args[1:]):
            if key == "user":
                user = val
            elif key == "header":
                extra.append(val)
            elif key == "body":
                body = val
                extra.append("Content-Type: text/plain")
            else:
                raise CaseFailure("send: unknown option %r" % key)
        self.request = Request(method, self.port, self.lport, user, extra, body)
        self.request.sent_at = time.monotonic()
        self.send(self.request.build())

    def send_in_transaction(self, method):
        req = self.request
        if method == "CANCEL":
            self.send(req.build(method="CANCEL", extra=[]))
        else:
            if req.final is None:
                raise CaseFailure("send ACK: no final reply to acknowledge yet")
            to_tag = None
            m = re.search(r";tag=([^;>\s]+)", header(req.final, "To") or "")
            if m:
                to_tag = m.group(1)
            # ACK of a non-2xx belongs to the INVITE transaction (same branch); ACK of a 2xx
            # is a transaction of its own (RFC 3261 13.2.2.4, 17.1.1.3): a new branch.
            branch = req.branch if req.final["code"] >= 300 else "z9hG4bK-conf-%08x" % random.getrandbits(32)
            self.send(req.build(method="ACK", branch=branch, to_tag=to_tag, extra=[]))

    def do_send_retransmission(self, args):
        if self.request is None:
            raise CaseFailure("send-retransmission: nothing sent yet")
        self.send(self.request.build())

    def do_wait(self, args):
        until = time.monotonic() + parse_ms(args[0]) / 1000.0
        while time.monotonic() < until:
            self.pump(until)

    def do_expect(self, args):
        if args and args[0] == "none":
            ms = parse_ms(args[2]) if len(args) >= 3 and args[1] == "within" else 500
            if self.replies:
                raise CaseFailure("expected no reply, have %s" % self.describe(self.replies[0][1]))
            until = time.monotonic() + ms / 1000.0
            while time.monotonic() < until:
                self.pump(until)
                if self.replies:
                    raise CaseFailure("expected no reply within %d ms, got %s" % (ms, self.describe(self.replies[0][1])))
            return
        code = int(args[0])
        conds = kv_args(args[1:])
        wait_ms = DEFAULT_WAIT_MS
        after = before = None
        i = 0
        words = args[1:]
        for key, op, val in conds:
            if key == "within":
                pass
            elif key == "after" and op == ">=":
                after = parse_ms(val)
            elif key == "before" and op == "<=":
                before = parse_ms(val)
        if "within" in words:
            wait_ms = parse_ms(words[words.index("within") + 1])
        if before is not None:
            wait_ms = max(wait_ms, before + 500)
        start = self.request.sent_at if self.request else time.monotonic()
        deadline = time.monotonic() + wait_ms / 1000.0

        def matches(msg):
            if msg["code"] != code:
                return False
            for key, op, val in conds:
                if key == "method" and msg["method"] != val:
                    return False
                if key == "reason" and op == "=" and msg["reason"] != val:
                    return False
                if key == "reason" and op == "~" and not re.search(val, msg["reason"]):
                    return False
                if key == "header" and op == "~" and not re.search(val, msg["text"], re.M):
                    return False
            return True

        while True:
            for idx, (t, msg) in enumerate(self.replies):
                if matches(msg):
                    del self.replies[idx]
                    elapsed = (t - start) * 1000.0
                    if after is not None and elapsed < after:
                        raise CaseFailure("%s came after %.0f ms, expected >= %d ms" % (self.describe(msg), elapsed, after))
                    if before is not None and elapsed > before:
                        raise CaseFailure("%s came after %.0f ms, expected <= %d ms" % (self.describe(msg), elapsed, before))
                    self.last = msg
                    if msg["code"] >= 200 and self.request and msg.get("method") == self.request.method:
                        self.request.final = msg
                    return
            if time.monotonic() >= deadline:
                have = ", ".join(self.describe(m) for _, m in self.replies) or "nothing"
                raise CaseFailure("expected %s (%s) within %d ms; have %s" % (code, " ".join(args[1:]), wait_ms, have))
            self.pump(deadline)

    def describe(self, msg):
        if msg["kind"] == "reply":
            return '%d "%s" (%s)' % (msg["code"], msg["reason"], msg["method"])
        return msg["method"]

    def do_expect_role(self, args):
        if self.last is None:
            raise CaseFailure("expect-role: no reply matched yet")
        m = re.search(r"pid=(\d+)", self.last["reason"])
        if not m:
            raise CaseFailure("expect-role: no pid= in reason %r" % self.last["reason"])
        pid = int(m.group(1))
        role = self.server.role_of(pid)
        want = args[0]
        if want.startswith("~"):
            ok = role is not None and re.search(want[1:], role)
        else:
            ok = role == want
        if not ok:
            raise CaseFailure("pid %d is %r, expected %r" % (pid, role, want))

    def do_expect_relayed(self, args):
        method = args[0]
        conds = kv_args(args[1:])
        wait_ms = DEFAULT_WAIT_MS
        if "within" in args:
            wait_ms = parse_ms(args[args.index("within") + 1])
        deadline = time.monotonic() + wait_ms / 1000.0
        while True:
            for idx, (t, msg) in enumerate(self.relayed):
                if msg["method"] != method:
                    continue
                del self.relayed[idx]
                for key, op, val in conds:
                    if key == "header" and op == "~" and not re.search(val, msg["text"], re.M):
                        raise CaseFailure("relayed %s lacks %r:\n%s" % (method, val, msg["text"]))
                    if key == "header" and op == "!~" and re.search(val, msg["text"], re.M):
                        raise CaseFailure("relayed %s has %r" % (method, val))
                self.last_relayed = msg
                return
            if time.monotonic() >= deadline:
                raise CaseFailure("next hop got no %s within %d ms" % (method, wait_ms))
            self.pump(deadline)

    def do_reply_relayed(self, args):
        if self.last_relayed is None:
            raise CaseFailure("reply-relayed: nothing relayed yet")
        code = int(args[0])
        reason = " ".join(args[1:]) or "Relayed"
        self.nexthop.sendto(build_reply(self.last_relayed, code, reason), self.last_relayed["addr"])

    def do_expect_log(self, args):
        pattern = args[0].lstrip("~")
        wait_ms = parse_ms(args[args.index("within") + 1]) if "within" in args else DEFAULT_WAIT_MS
        deadline = time.monotonic() + wait_ms / 1000.0
        while time.monotonic() < deadline:
            if re.search(pattern, self.server.log_text(), re.M):
                return
            self.pump(min(deadline, time.monotonic() + 0.1))
        raise CaseFailure("log has no line matching %r within %d ms" % (pattern, wait_ms))


VERBS = {
    "send": "do_send",
    "send-retransmission": "do_send_retransmission",
    "wait": "do_wait",
    "expect": "do_expect",
    "expect-role": "do_expect_role",
    "expect-relayed": "do_expect_relayed",
    "reply-relayed": "do_reply_relayed",
    "expect-log": "do_expect_log",
}


def place_ports(text, port, nexthop, http_port):
    """Points a config at the case's ports. A config that defaults a name itself
    (`#!ifndef PORT` ... `#!define PORT 5060`, as the shipped examples do) gets it with
    `-A NAME=value`, as a user would run it; in any other config the word is replaced."""
    defines = {}
    for name, value in (("PORT", port), ("NEXTHOP", nexthop), ("HTTPPORT", http_port)):
        if value is None:
            continue
        if re.search(r"^#!ifndef %s$" % name, text, re.M):
            defines[name] = str(value)
        else:
            text = re.sub(r"\b%s\b" % name, str(value), text)
    default = re.search(r'^#!define HTTPCON "(.*)"$', text, re.M)
    if http_port is not None and default:
        defines["HTTPCON"] = '"%s"' % re.sub(r":\d+/", ":%d/" % http_port, default.group(1), count=1)
    return text, defines


def run_case(name, args, workdir, index):
    """Returns (status, message): status is 'ok', 'fail' or 'skip'."""
    base = os.path.join(args.cases, name)
    try:
        options, steps = parse_case(base + ".case", args.server)
    except (OSError, ValueError) as e:
        return "fail", "cannot read the case: %s" % e
    if options["only"] and options["only"] != args.server:
        return "skip", "%s-only" % options["only"]
    port = free_udp_port()
    player = Player(None, port)
    nexthop = player.bind_nexthop()
    with open(base + ".cfg") as f:
        text = f.read()
    http = None
    if options["http_server"]:
        try:
            http = HTTPServer()
        except CaseFailure as e:
            player.close()
            return "fail", str(e)
    text, defines = place_ports(text, port, nexthop, http.port if http else None)
    server = Server(args.server, args.respite, text, port, workdir, index, defines)
    player.server = server
    lineno = 0
    try:
        if options["config_error"] is not None:
            server.expect_config_error(options["config_error"])
            return "ok", ""
        server.start()
        for lineno, verb, vargs in steps:
            if verb not in VERBS:
                raise CaseFailure("unknown verb %r" % verb)
            getattr(player, VERBS[verb])(vargs)
        if server.proc.poll() is not None:
            raise CaseFailure("server exited during the case: %s" % server.log_tail())
        return "ok", ""
    except CaseFailure as e:
        where = "line %d: " % lineno if lineno else ""
        return "fail", where + str(e)
    except Exception as e:  # a runner bug must not leave the server running
        return "fail", "line %d: runner error %s: %s" % (lineno, type(e).__name__, e)
    finally:
        server.stop()
        player.close()
        if http is not None:
            http.stop()
        if args.keep_logs:
            sys.stderr.write("log of %s: %s\n" % (name, server.log))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, choices=["respite", "kamailio"])
    ap.add_argument("--filter", help="run only the cases whose name contains this text")
    ap.add_argument("--respite", default=os.path.join(REPO, ".build", "debug", "respite"),
                    help="path of the respite binary (respite-shm is taken beside it)")
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"),
                    help="directory of NAME.cfg + NAME.case pairs (default: cases/ beside run.py)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the server logs and print their paths")
    args = ap.parse_args()
    names = sorted(f[:-5] for f in os.listdir(args.cases) if f.endswith(".case"))
    if args.filter:
        names = [n for n in names if args.filter in n]
    passed = failed = 0
    workdir = tempfile.mkdtemp(prefix="respite-conf-")
    try:
        for index, name in enumerate(names):
            status, why = run_case(name, args, workdir, index)
            if status == "ok":
                passed += 1
                print("ok %s" % name, flush=True)
            elif status == "skip":
                print("skip %s: %s" % (name, why), flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (name, why), flush=True)
    finally:
        if not args.keep_logs:
            for f in os.listdir(workdir):
                os.unlink(os.path.join(workdir, f))
            os.rmdir(workdir)
    print("%d passed, %d failed" % (passed, failed))
    # A run that found nothing to check must not look like a success.
    if passed == 0 and failed == 0:
        print("no case ran (wrong --cases folder or --filter?)", file=sys.stderr)
        return 1
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
