#!/usr/bin/env python3
"""The HTTP server the tests and benchmarks start on loopback (standard library only).

Usage: http_test_server.py [--host 127.0.0.1]
Binds an ephemeral port and prints it as its first line on standard output, then serves
until SIGTERM or until its parent dies (it polls getppid, so a test that crashes leaves
nothing behind).

Paths:
  /ok                  200, body "hello" (text/plain)
  /json                200, a JSON document (application/json)
  /status/N            status N, body "status N"
  /slow/MS             answers 200 "slow" after MS milliseconds
  /big/BYTES           200 with a body of BYTES 'x' (Content-Length announced)
  /huge-length         announces Content-Length 2147483648, sends 1 MB, then closes
  /redirect/N          302 to /redirect/N-1, /redirect/0 is 200 "landed"
  /echo                200, JSON of the method, path, headers and body it got
  /never               reads the request and never answers (until the client gives up)
  /count               200, the number of requests served so far
  /lines/N             200, N lines "line 1\n" ... "line N\n" (text/plain)
  /peer                200, the client's address and port as "IP:PORT" (the same port
                       while the client keeps its connection open)
  /say/TEXT[/...]      200, body TEXT (what follows TEXT and the query are ignored)
Any other path: 404.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVED = 0
LOCK = threading.Lock()
JSON_DOC = {"name": "respite", "limit": 5, "nested": {"list": [1, 2, {"deep": "yes"}]}, "flag": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle holds the body
    # back until the client's delayed ACK (40 ms on every kept-alive request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, content_type="text/plain", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Test-Server", "respite")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        global SERVED
        with LOCK:
            SERVED += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        head = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if head == "ok":
            self.send(200, "hello")
        elif head == "json":
            self.send(200, json.dumps(JSON_DOC), "application/json")
        elif head == "status" and arg.isdigit():
            self.send(int(arg), "status " + arg)
        elif head == "slow" and arg.isdigit():
            time.sleep(int(arg) / 1000)
            self.send(200, "slow")
        elif head == "big" and arg.isdigit():
            self.send(200, b"x" * int(arg))
        elif head == "huge-length":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(2 ** 31))
            self.end_headers()
            try:
                self.wfile.write(b"y" * (1 << 20))
            except OSError:
                pass
            self.close_connection = True
        elif head == "redirect":
            n = int(arg) if arg.isdigit() else 0
            if n > 0:
                self.send(302, "moved", extra=[("Location", "/redirect/%d" % (n - 1))])
            else:
                self.send(200, "landed")
        elif head == "echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": {k: v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            self.send(200, json.dumps(doc), "application/json")
        elif head == "never":
            time.sleep(3600)
        elif head == "count":
            self.send(200, str(SERVED))
        elif head == "lines" and arg.isdigit():
            self.send(200, "".join("line %d\n" % i for i in range(1, int(arg) + 1)))
        elif head == "peer":
            self.send(200, "%s:%d" % self.client_address[:2])
        elif head == "say":
            self.send(200, arg)
        else:
            self.send(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    # listen() reads this in the constructor: the default backlog of 5 drops the SYNs of
    # a burst of connections, which the client then retries a second later.
    request_queue_size = 1024
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout test) resets its connection: not worth a trace.
        pass


def main():
    host = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--host" else "127.0.0.1"
    server = Server((host, 0), Handler)
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
