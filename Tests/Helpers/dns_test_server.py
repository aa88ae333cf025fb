#!/usr/bin/env python3
"""The DNS responder the DNS tests start on loopback (standard library only).

Usage: dns_test_server.py --zone ZONE.json [--host 127.0.0.1] [--port 0] [--log FILE] [--silent]
Binds UDP HOST:PORT (port 0: an ephemeral one), prints the port as its first line on
standard output, then answers until SIGTERM or until its parent dies (it polls getppid,
so a test that crashes leaves nothing behind).

The zone is a JSON object:
  "records":    [[name, type, ttl, data], ...] with data by type:
                  A "127.0.0.1"   AAAA "::1"   CNAME "other.test"
                  SRV [priority, weight, port, "target.test"]
                  NAPTR [order, preference, "s", "SIP+D2U", "", "_sip._udp.x.test"]
  "nxdomain":   names answered NXDOMAIN (any name without records is NXDOMAIN too; a
                name with records of another type gets an empty NOERROR answer)
  "silent":     names never answered (to test timeouts)
  "servfail":   names answered SERVFAIL
  "additional": true to add the A/AAAA records of SRV targets in the additional section
--silent never answers anything. --log appends one line per query: "NAME TYPE".
Answers name their owner with a compression pointer to the question when they can.
"""
import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "NAPTR": 35}
NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def decode_question(packet):
    at, labels = 12, []
    while True:
        n = packet[at]
        if n == 0:
            at += 1
            break
        labels.append(packet[at + 1:at + 1 + n].decode(errors="replace"))
        at += 1 + n
    qtype, qclass = struct.unpack("!HH", packet[at:at + 4])
    return ".".join(labels), qtype, qclass, at + 4


def rdata(rtype, data):
    if rtype == "A":
        return ipaddress.IPv4Address(data).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(data).packed
    if rtype == "CNAME":
        return encode_name(data)
    if rtype == "SRV":
        p, w, port, target = data
        return struct.pack("!HHH", p, w, port) + encode_name(target)
    if rtype == "NAPTR":
        order, pref, flags, service, regexp, replacement = data
        out = struct.pack("!HH", order, pref)
        for text in (flags, service, regexp):
            raw = text.encode()
            out += bytes([len(raw)]) + raw
        return out + encode_name(replacement)
    raise ValueError(rtype)


def record(owner, rtype, ttl, data):
    body = rdata(rtype, data)
    return owner + struct.pack("!HHIH", TYPES[rtype], 1, ttl, len(body)) + body


class Zone:
    def __init__(self, doc):
        self.records = [(n.lower().rstrip("."), t.upper(), int(ttl), d) for n, t, ttl, d in doc.get("records", [])]
        self.nxdomain = {n.lower().rstrip(".") for n in doc.get("nxdomain", [])}
        self.silent = {n.lower().rstrip(".") for n in doc.get("silent", [])}
        self.servfail = {n.lower().rstrip(".") for n in doc.get("servfail", [])}
        self.additional = bool(doc.get("additional", False))

    def find(self, name, rtype):
        return [r for r in self.records if r[0] == name and r[1] == rtype]

    def exists(self, name):
        return any(r[0] == name for r in self.records)


def answer(zone, packet):
    qid, flags = struct.unpack("!HH", packet[:4])
    name, qtype, qclass, end = decode_question(packet)
    key = name.lower().rstrip(".")
    if key in zone.silent:
        return None
    question = packet[12:end]
    rd = flags & 0x0100
    rcode, answers, extra = 0, [], []
    if key in zone.servfail:
        rcode = 2
    elif key in zone.nxdomain or not zone.exists(key):
        rcode = 3
    else:
        tname = NAMES.get(qtype, "")
        found = zone.find(key, tname)
        if not found and tname != "CNAME":
            found = zone.find(key, "CNAME")
            for _, _, ttl, target in found:
                answers.append(record(b"\xc0\x0c", "CNAME", ttl, target))
                for r in zone.find(target.lower().rstrip("."), tname):
                    answers.append(record(encode_name(r[0]), r[1], r[2], r[3]))
            found = []
        for r in found:
            answers.append(record(b"\xc0\x0c", r[1], r[2], r[3]))
            if zone.additional and r[1] == "SRV":
                target = r[3][3].lower().rstrip(".")
                for t in ("A", "AAAA"):
                    for a in zone.find(target, t):
                        extra.append(record(encode_name(a[0]), a[1], a[2], a[3]))
    header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, len(answers), 0, len(extra))
    return header + question + b"".join(answers) + b"".join(extra)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zone", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--silent", action="store_true")
    args = parser.parse_args()
    with open(args.zone) as f:
        zone = Zone(json.load(f))
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    print(sock.getsockname()[1], flush=True)
    parent = os.getppid()
    log = open(args.log, "a", buffering=1) if args.log else None
    while os.getppid() == parent:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        packet, peer = sock.recvfrom(4096)
        try:
            name, qtype, _, _ = decode_question(packet)
        except (IndexError, struct.error):
            continue
        if log:
            log.write("%s %s\n" % (name, NAMES.get(qtype, qtype)))
        if args.silent:
            continue
        reply = answer(zone, packet)
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
