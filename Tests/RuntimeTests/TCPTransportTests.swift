import Foundation
import SIP
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// TCP and IPv6, end to end against the built server: framing, replies from processes
/// that do not own the connection (task workers, the async timers), relaying over TCP,
/// and the bad clients the tcp main must survive without slowing anyone else.
@Suite(.serialized) struct TCPTransportTests {
    static let config = """
    debug=3
    children=2
    tcp_children=2
    async_workers=2
    listen=udp:127.0.0.1:PORT
    listen=tcp:127.0.0.1:PORT
    listen=udp:[::1]:PORT
    listen=tcp:[::1]:PORT
    tcp_msg_read_timeout=2
    TCP_EXTRA
    loadmodule "sl.so"
    loadmodule "tm.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "async.so"
    loadmodule "tcpops.so"
    loadmodule "textops.so"
    modparam("tm", "fr_timer", 3000)
    modparam("tm", "wt_timer", 500)

    request_route {
        if (is_method("ACK")) { t_relay(); exit; }
        if ($rU == "task") { async_task_route("ANSWER"); exit; }
        if ($rU == "relay") { async_task_route("RELAY"); exit; }
        if ($rU == "later") { async_route("LATE", 1); exit; }
        if ($rU == "short") { tcp_set_connection_lifetime(1); sl_send_reply("200", "Short"); exit; }
        if ($rU == "forced") { $fs = "tcp:127.0.0.1:PORT"; $du = "sip:127.0.0.1:" + $hdr(X-Peer); t_relay(); exit; }
        if ($rU == "alias") { force_tcp_alias(); sl_send_reply("200", "Aliased"); exit; }
        if ($rU == "toalias") { t_relay_to_tcp("127.0.0.1", $(hdr(X-Alias-Port){s.int})); exit; }
        if (proto == TCP && af == INET) {
            sl_send_reply("200", "OK $pr $af(name) $conid");
            exit;
        }
        sl_send_reply("200", "OK $pr $af(name)");
    }
    event_route[tcp:closed] { xlog("L_NOTICE", "event tcp:closed conid=$conid from $si:$sp over $proto\\n"); }
    event_route[tcp:timeout] { xlog("L_NOTICE", "event tcp:timeout conid=$conid\\n"); }
    route[ANSWER] { t_reply("200", "From a task worker over $pr"); }
    route[LATE] { t_reply("200", "Late"); }
    route[RELAY] {
        $du = "sip:127.0.0.1:" + $hdr(X-Peer) + ";transport=tcp";
        t_relay();
    }
    """

    static func server(_ extra: String = "") throws -> ServerProcess {
        try ServerProcess(config: config.replacingOccurrences(of: "TCP_EXTRA", with: extra))
    }

    static func request(_ method: String, user: String, port: UInt16, transport: String = "TCP", callID: String,
                        headers: [String] = [], body: String = "", localPort: UInt16 = 5099) -> String {
        ([
            "\(method) sip:\(user)@127.0.0.1:\(port) SIP/2.0",
            "Via: SIP/2.0/\(transport) 127.0.0.1:\(localPort);branch=z9hG4bK-\(callID);rport",
            "Max-Forwards: 70",
            "From: <sip:tester@127.0.0.1>;tag=t-\(callID)",
            "To: <sip:\(user)@127.0.0.1>",
            "Call-ID: \(callID)",
            "CSeq: 1 \(method)",
            "Contact: <sip:tester@127.0.0.1:\(localPort);transport=tcp>",
        ] + headers + ["Content-Length: \(body.utf8.count)"]).joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    @Test func aLargeRequestAndTwoPipelinedOnesAreAnswered() throws {
        let server = try Self.server()
        let tcp = try LoopbackTCPConnection(port: server.port)
        let big = String(repeating: "v=0 a line of a large body\r\n", count: 220)  // about 6 KB
        #expect(big.utf8.count > 6000)
        let three = Self.request("MESSAGE", user: "big", port: server.port, callID: "big-1", body: big)
            + Self.request("OPTIONS", user: "p", port: server.port, callID: "pipe-1")
            + Self.request("OPTIONS", user: "p", port: server.port, callID: "pipe-2")
        #expect(tcp.send(three))
        #expect(tcp.read(timeout: 5) { _ in tcp.count("SIP/2.0 200 OK tcp IPv4 ") == 3 }, "\(String(decoding: tcp.received, as: UTF8.self))")
        for id in ["big-1", "pipe-1", "pipe-2"] { #expect(tcp.count("Call-ID: \(id)") == 1) }
        let shm = try server.arenaSample().object["tcpConnections"] as? [String: Any]
        #expect(shm?["messagesIn"] as? Int == 3, "\(shm ?? [:])")
        _ = server.stop()
    }

    @Test func udpOverIPv6IsAnswered() throws {
        let server = try Self.server()
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = server.port.bigEndian
        sa.sin6_addr.__in6_u.__u6_addr8.15 = 1
        let text = Self.request("OPTIONS", user: "six", port: server.port, transport: "UDP", callID: "v6-1")
            .replacingOccurrences(of: "Via: SIP/2.0/UDP 127.0.0.1:5099", with: "Via: SIP/2.0/UDP [::1]:5099")
        let sent = Array(text.utf8).withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        #expect(sent == text.utf8.count)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 3000) == 1)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let reply = String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self)
        #expect(reply.hasPrefix("SIP/2.0 200 OK udp IPv6"), "\(reply)")
        _ = server.stop()
    }

    /// A request suspended from a TCP connection is answered by a task worker, a process
    /// that never saw the connection; SIPp's 1,000 OPTIONS on one connection all succeed.
    @Test func sippOptionsOverOneConnectionAnsweredFromTaskWorkers() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/sipp") else {
            Issue.record("sipp is missing: make test installs sip-tester")
            return
        }
        let server = try Self.server()
        let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Configs/sipp-options.xml").path
        let run = try Spawn.run("/usr/bin/sipp", [
            "127.0.0.1:\(server.port)", "-sf", scenario, "-s", "task", "-t", "t1", "-i", "127.0.0.1",
            "-p", String(try FreePort.udp()), "-m", "1000", "-r", "500", "-timeout", "30", "-timeout_error", "-nostdin",
        ], timeout: 60)
        #expect(run.status == 0, "1,000 OPTIONS answered\n\(run.output.suffix(1500))\n\(server.log.suffix(1500))")
        let tcp = try #require(server.arenaSample().object["tcpConnections"] as? [String: Any])
        #expect(tcp["messagesIn"] as? Int == 1000 && tcp["accepted"] as? Int == 1, "\(tcp)")
        _ = server.stop()
    }

    /// An INVITE that came over UDP is relayed over TCP by a task worker (the tcp main
    /// opens the connection); the downstream 200 comes back on that connection and goes
    /// upstream over UDP.
    @Test func anInviteOverUDPIsRelayedOverTCPByATaskWorker() throws {
        let server = try Self.server()
        let peer = try LoopbackTCPListener()
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("INVITE", user: "relay", headers: ["X-Peer: \(peer.port)"], callID: "relay-1@test"))
        let downstream = try #require(peer.accept(timeout: 5), "the tcp main connected\n\(server.log.suffix(2000))")
        #expect(downstream.read(timeout: 5) { _ in downstream.count("\r\n\r\n") >= 1 })
        let invite = try SIPMessage.parse(downstream.received)
        #expect(invite.vias.first?.transport == "TCP" && invite.vias.first?.port == Int(server.port))
        #expect(downstream.send(SIPTestClient.reply(to: downstream.received, "200 OK",
                                                    extra: ["Contact: <sip:down@127.0.0.1:\(peer.port);transport=tcp>"])))
        var final: SIPMessage?
        #expect(waitUntil(timeout: 5) {
            if let m = client.receive(timeout: 0.2), !m.isRequest, m.statusCode >= 200 { final = m }
            return final != nil
        }, "\(server.log.suffix(2000))")
        #expect(final?.statusCode == 200 && final?.callID == "relay-1@test")
        _ = server.stop()
    }

    /// A client that resets its connection while its INVITE is suspended: the reply from
    /// the async timer fails cleanly (logged), nothing is sent elsewhere, and the
    /// transaction and the connection leave the arena.
    @Test func aResetWhileSuspendedLeavesNothingBehind() throws {
        let server = try Self.server()
        let doomed = try LoopbackTCPConnection(port: server.port)
        #expect(doomed.send(Self.request("INVITE", user: "later", port: server.port, callID: "reset-1")))
        #expect(waitUntil(timeout: 2) {
            ((try? server.arenaSample().object["transactions"] as? [String: Any])?["live"] as? Int ?? 0) == 1
        })
        doomed.reset()
        let bystander = try LoopbackTCPConnection(port: server.port)
        #expect(bystander.send(Self.request("OPTIONS", user: "o", port: server.port, callID: "bystander")))
        // The reply comes from the async timer a second later; a loaded machine (the whole
        // suite in parallel) may take several more.
        #expect(waitUntil(timeout: 12) { server.log.contains("the connection is closed") || server.log.contains("the connection closed") },
                "\(server.log.suffix(1500))")
        #expect(bystander.read(timeout: 1) { _ in false } == false)
        #expect(bystander.count("SIP/2.0 200 OK tcp") == 1 && bystander.count("reset-1") == 0, "no reply reached another client")
        var sample: [String: Any] = [:]
        #expect(waitUntil(timeout: 8) {
            sample = (try? server.arenaSample().object) ?? [:]
            let tx = sample["transactions"] as? [String: Any]
            let tcp = sample["tcpConnections"] as? [String: Any]
            return tx?["live"] as? Int == 0 && tcp?["used"] as? Int == 1
        }, "\(sample["transactions"] ?? "-") \(sample["tcpConnections"] ?? "-")")
        _ = server.stop()
    }

    @Test func aSlowlorisIsClosedAtTheReadTimeout() throws {
        let server = try Self.server()
        let slow = try LoopbackTCPConnection(port: server.port)
        let text = Array(Self.request("OPTIONS", user: "slow", port: server.port, callID: "slow-1").utf8)
        let start = Date()
        var closed = false
        for byte in text {
            if !slow.send([byte]) || slow.closedByPeer(within: 0.3) {
                closed = true
                break
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(closed && elapsed >= 1.5 && elapsed < 4, "closed \(closed) after \(elapsed) s")
        #expect(server.log.contains("tcp_msg_read_timeout"))
        _ = server.stop()
    }

    @Test func aHugeContentLengthGets413AndTheConnectionCloses() throws {
        let server = try Self.server()
        let tcp = try LoopbackTCPConnection(port: server.port)
        let head = Self.request("MESSAGE", user: "huge", port: server.port, callID: "huge-1")
            .replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 100000000")
        #expect(tcp.send(head))
        #expect(tcp.closedByPeer(within: 3))
        #expect(String(decoding: tcp.received, as: UTF8.self).hasPrefix("SIP/2.0 413 "))
        let udp = try SIPTestClient(server: server.port)
        #expect(udp.exchange(udp.request("OPTIONS"))?.statusCode == 200, "UDP is still served")
        _ = server.stop()
    }

    @Test func binaryGarbageClosesTheConnectionWithALogLine() throws {
        let server = try Self.server()
        let tcp = try LoopbackTCPConnection(port: server.port)
        var garbage = [UInt8](repeating: 0, count: 3000)
        for i in garbage.indices { garbage[i] = UInt8.random(in: 0...255) }
        garbage[0] = 0x01
        #expect(tcp.send(garbage) || true)
        #expect(tcp.closedByPeer(within: 3))
        #expect(waitUntil(timeout: 2) { server.log.contains("binary bytes in the first line") })
        let shm = try server.arenaSample().object["tcpConnections"] as? [String: Any]
        #expect(shm?["closedBadInput"] as? Int == 1 && shm?["used"] as? Int == 0, "\(shm ?? [:])")
        _ = server.stop()
    }

    /// Beyond tcp_max_connections new connections are refused; the open ones keep working,
    /// and so does UDP.
    @Test func connectionsBeyondTheLimitAreRefused() throws {
        let server = try Self.server("tcp_max_connections=10")
        var open: [LoopbackTCPConnection] = []
        for _ in 0..<10 { open.append(try LoopbackTCPConnection(port: server.port)) }
        #expect(waitUntil(timeout: 3) { (try? server.arenaSample().object["tcpConnections"] as? [String: Any])?["used"] as? Int == 10 })
        var refused = 0
        for _ in 0..<5 {
            let extra = try LoopbackTCPConnection(port: server.port)
            if extra.closedByPeer(within: 2) { refused += 1 }
        }
        #expect(refused == 5)
        for (i, c) in open.enumerated() {
            #expect(c.send(Self.request("OPTIONS", user: "o", port: server.port, callID: "kept-\(i)")))
        }
        for c in open { #expect(c.read(timeout: 3) { _ in c.count("SIP/2.0 200") == 1 }) }
        let udp = try SIPTestClient(server: server.port)
        #expect(udp.exchange(udp.request("OPTIONS"))?.statusCode == 200)
        let shm = try #require(server.arenaSample().object["tcpConnections"] as? [String: Any])
        #expect(shm["refused"] as? Int == 5 && shm["capacity"] as? Int == 10, "\(shm)")
        _ = server.stop()
    }

    /// force_tcp_alias(): a request later routed to the client's Via address goes over the
    /// client's own connection (nothing listens at that port).
    @Test func anAliasedConnectionCarriesRequestsToItsViaPort() throws {
        let server = try Self.server()
        let phone = try LoopbackTCPConnection(port: server.port)
        let viaPort = try FreePort.udp()  // nothing listens on TCP there
        #expect(phone.send(Self.request("REGISTER", user: "alias", port: server.port, callID: "alias-1", localPort: viaPort)))
        #expect(phone.read(timeout: 3) { _ in phone.count("SIP/2.0 200 Aliased") == 1 })
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "toalias", headers: ["X-Alias-Port: \(viaPort)"], callID: "to-alias-1@test"))
        #expect(phone.read(timeout: 3) { _ in phone.count("MESSAGE sip:toalias@") == 1 }, "\(server.log.suffix(1500))")
        let shm = try #require(server.arenaSample().object["tcpConnections"] as? [String: Any])
        #expect(shm["connected"] as? Int == 0 && shm["used"] as? Int == 1, "no new connection: \(shm)")
        let open = try #require(shm["connections"] as? [[String: Any]])
        #expect(open.first?["aliasPorts"] as? [Int] == [Int(viaPort)])
        _ = server.stop()
    }

    /// The tcp main killed: its connections close with it, the master frees their slots and
    /// starts a new one, which serves new connections.
    @Test func aKilledTcpMainIsReplacedAndItsConnectionsFreed() throws {
        let server = try Self.server()
        let old = try LoopbackTCPConnection(port: server.port)
        #expect(old.send(Self.request("OPTIONS", user: "o", port: server.port, callID: "before-kill")))
        #expect(old.read(timeout: 3) { _ in old.count("SIP/2.0 200") == 1 })
        let main = try #require(server.processes().first { $0.description == "tcp main process" })
        kill(main.pid, SIGKILL)
        #expect(old.closedByPeer(within: 3))
        #expect(waitUntil(timeout: 5) {
            let p = (try? server.processes().first { $0.description == "tcp main process" })
            return p != nil && p!.pid != main.pid && p!.alive && p!.state == "running"
        })
        let shm = try #require(server.arenaSample().object["tcpConnections"] as? [String: Any])
        #expect(shm["used"] as? Int == 0, "\(shm)")
        let fresh = try LoopbackTCPConnection(port: server.port)
        #expect(fresh.send(Self.request("OPTIONS", user: "o", port: server.port, callID: "after-kill")))
        #expect(fresh.read(timeout: 3) { _ in fresh.count("SIP/2.0 200") == 1 }, "\(server.log.suffix(1500))")
        #expect(server.log.contains("TCP connections closed with the tcp main"))
        _ = server.stop()
    }

    /// tcpops' event routes: a peer's close raises event_route[tcp:closed] with the
    /// connection's variables; tcp_set_connection_lifetime(1) closes an idle connection
    /// after a second and raises tcp:timeout.
    @Test func closedAndTimeoutEventRoutesRun() throws {
        let server = try Self.server()
        let peer = try LoopbackTCPConnection(port: server.port)
        let port = peer.localPort
        #expect(peer.send(Self.request("OPTIONS", user: "o", port: server.port, callID: "ev-1")))
        #expect(peer.read(timeout: 3) { _ in peer.count("SIP/2.0 200") == 1 })
        peer.close()
        #expect(waitUntil(timeout: 3) { server.log.contains("event tcp:closed conid=1 from 127.0.0.1:\(port) over tcp") },
                "\(server.log.suffix(800))")
        let short = try LoopbackTCPConnection(port: server.port)
        #expect(short.send(Self.request("OPTIONS", user: "short", port: server.port, callID: "ev-2")))
        #expect(short.read(timeout: 3) { _ in short.count("SIP/2.0 200 Short") == 1 })
        #expect(short.closedByPeer(within: 3))
        #expect(waitUntil(timeout: 2) { server.log.contains("event tcp:timeout conid=2") }, "\(server.log.suffix(800))")
        _ = server.stop()
    }

    /// TCP over [::1]: the same script, `$af(name)` IPv6.
    @Test func tcpOverIPv6IsAnswered() throws {
        let server = try Self.server()
        let tcp = try LoopbackTCPConnection(ipv6Port: server.port)
        let text = Self.request("OPTIONS", user: "six", port: server.port, callID: "tcp6-1")
            .replacingOccurrences(of: "127.0.0.1:5099", with: "[::1]:5099")
        #expect(tcp.send(text))
        #expect(tcp.read(timeout: 3) { _ in tcp.count("SIP/2.0 200 OK tcp IPv6") == 1 }, "\(String(decoding: tcp.received, as: UTF8.self))")
        _ = server.stop()
    }

    /// `$fs` picks the socket among those of the destination's transport: forcing a TCP
    /// socket for a `$du` without `;transport=` leaves the request on UDP, as Kamailio 5.6.3
    /// does (checked on loopback).
    @Test func aForcedSocketOfAnotherTransportIsIgnored() throws {
        let server = try Self.server()
        let peer = try LoopbackUDPSocket()
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "forced", headers: ["X-Peer: \(peer.port)"], callID: "forced-1@test"))
        let relayed = try #require(peer.receive(timeout: 3), "\(server.log.suffix(1000))")
        #expect(String(decoding: relayed, as: UTF8.self).contains("Via: SIP/2.0/UDP 127.0.0.1:\(server.port);branch="))
        _ = server.stop()
    }

    /// A relay over TCP to a port where nothing listens: the connect fails in the tcp main,
    /// tm ends the branch as a 503 at once (RFC 3261 16.9) instead of at fr_timer (3 s here).
    @Test func aConnectionThatCannotOpenEndsItsBranchAs503() throws {
        let server = try Self.server()
        let closed = try FreePort.server()
        let client = try SIPTestClient(server: server.port)
        let start = Date()
        let final = client.exchange(client.request("INVITE", user: "relay", headers: ["X-Peer: \(closed)"],
                                                   callID: "refused-1@test"), timeout: 5)
        #expect(final?.statusCode == 503, "\(server.log.suffix(1000))")
        #expect(Date().timeIntervalSince(start) < 1.5)
        #expect(server.log.contains("could not be sent to tcp:127.0.0.1:\(closed)"))
        let shm = try #require(server.arenaSample().object["tcpConnections"] as? [String: Any])
        #expect(shm["connectFailed"] as? Int == 1 && shm["used"] as? Int == 0, "\(shm)")
        _ = server.stop()
    }
}
