import Foundation
import SIP
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The DNS Worker (docs/dns.md): a receiver's t_relay that needs a name the cache cannot
/// answer suspends the transaction and hands the name over; the receiver goes on reading
/// SIP; the worker resolves, then runs the t_relay action again with the cache warm.
@Suite(.serialized) struct DNSWorkerTests {
    static let config = """
        #!KAMAILIO
        listen=udp:127.0.0.1:PORT
        dns_retr_time=2
        dns_retr_no=1
        dns_cache_negative_ttl=30
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        modparam("tm", "wt_timer", 500)
        request_route {
            if (is_method("OPTIONS")) { sl_send_reply("200", "ok"); exit; }
            if (is_method("ACK")) { t_check_trans(); exit; }
            $ru = "sip:" + $rU + "@" + $hdr(X-Domain);
            if (!t_relay()) { sl_send_reply("500", "relay failed"); }
        }
        """

    static func server(_ dns: DNSTestServer, config: String = config) throws -> ServerProcess {
        try ServerProcess(config: config, children: 1, environment: ["RESPITE_RESOLV_CONF": dns.resolvConf])
    }

    static func liveTransactions(_ server: ServerProcess) -> Int? {
        (try? server.arenaSample().object["transactions"] as? [String: Any])?["live"] as? Int
    }

    /// The first final reply for `callID` (1xx and other calls' replies skipped).
    static func finalReply(_ client: SIPTestClient, callID: String, timeout: TimeInterval) -> SIPMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = client.receive(timeout: max(0.001, deadline.timeIntervalSinceNow)) else { return nil }
            if !m.isRequest && m.statusCode >= 200 && m.callID == callID { return m }
        }
        return nil
    }

    static func dnsQueue(_ server: ServerProcess) -> [String: Any]? {
        let queues = (try? server.arenaSample().object["queues"]) as? [[String: Any]]
        return queues?.first { $0["name"] as? String == "dns" }
    }

    /// (1) A name whose server never answers: while one INVITE waits for it (2 s budget),
    /// the single receiver answers OPTIONS at once; the INVITE then gets the script's own
    /// error reply, once, and the transaction leaves the arena.
    @Test func aSilentNameDoesNotStallTheReceiver() throws {
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: 9))
        let server = try Self.server(dns)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        let pinger = try SIPTestClient(server: server.port)
        let start = Date()
        caller.send(caller.request("INVITE", user: "bob", headers: ["X-Domain: slow.test"], callID: "silent-1@test"))
        #expect(waitUntil(timeout: 1) { Self.liveTransactions(server) == 1 }, "\(server.log.suffix(1500))")
        var slowest = 0.0
        for _ in 0..<5 {
            let sent = Date()
            let reply = pinger.exchange(pinger.request("OPTIONS", user: "ping"), timeout: 1)
            #expect(reply?.statusCode == 200)
            slowest = max(slowest, Date().timeIntervalSince(sent))
            usleep(100_000)
        }
        #expect(slowest < 0.2, "an OPTIONS waited \(slowest) s behind the INVITE's DNS lookup")
        #expect(Date().timeIntervalSince(start) < 1.8, "the OPTIONS exchanges ran past the DNS budget; the test proves nothing")
        let processes = (try server.arenaSample().object["processes"] as? [[String: Any]]) ?? []
        #expect(processes.contains { $0["description"] as? String == "DNS Worker" && $0["role"] as? String == "dns worker" })

        let final = Self.finalReply(caller, callID: "silent-1@test", timeout: 4)
        #expect(final?.statusCode == 500 && final?.reasonPhrase == "relay failed", "\(server.log.suffix(1500))")
        let waited = Date().timeIntervalSince(start)
        #expect(waited >= 1.8 && waited < 4, "the INVITE ended after \(waited) s")
        // After the script's stateless reply, tm answers the transaction it could not relay,
        // as Kamailio 5.6.3 does (docs/modules/tm.md).
        let tms = caller.receive(timeout: 0.5)
        #expect(tms.map { "\($0.statusCode) \($0.reasonPhrase)" } == "478 Unresolvable destination (478/TM)")
        // Its ACK ends the retransmissions, and the transaction goes after wt_timer.
        if let tms { caller.send(SIPTestClient.ack(for: tms, requestURI: "sip:bob@127.0.0.1:\(server.port)")) }
        #expect(waitUntil(timeout: 3) { Self.liveTransactions(server) == 0 }, "\(server.log.suffix(1500))")
        let queue = try #require(Self.dnsQueue(server))
        #expect(queue["pushed"] as? Int == 1 && queue["taken"] as? Int == 1 && queue["depth"] as? Int == 0)
        // The timeout is cached: the next request fails at once, in the receiver.
        let again = Date()
        let second = caller.exchange(caller.request("INVITE", user: "bob", headers: ["X-Domain: slow.test"]), timeout: 3)
        #expect(second?.statusCode == 500 && Date().timeIntervalSince(again) < 0.5)
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
    }

    /// (2) An SRV name, cache cold: the INVITE reaches the SRV target on the first try
    /// (through the DNS Worker), the callee's 200 reaches the caller, and (3) the
    /// transaction leaves the arena. The next INVITE goes out from the receiver itself.
    @Test func aColdSRVNameIsRelayedAfterTheWorkerResolvesIt() throws {
        let peer = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: peer.port))
        let server = try Self.server(dns)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        caller.send(caller.request("INVITE", user: "alice", headers: ["X-Domain: service.test"], callID: "srv-1@test"))
        let relayed = try #require(peer.receive(timeout: 3), "nothing relayed: \(server.log.suffix(1500))")
        #expect(String(decoding: relayed, as: UTF8.self).hasPrefix("INVITE sip:alice@service.test SIP/2.0\r\n"))
        #expect(dns.queries.contains("_sip._udp.service.test SRV"))
        peer.send(SIPTestClient.reply(to: relayed, "200 OK"), to: server.port)
        let final = Self.finalReply(caller, callID: "srv-1@test", timeout: 3)
        #expect(final?.statusCode == 200 && final?.callID == "srv-1@test", "\(server.log.suffix(1500))")
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
        #expect(waitUntil(timeout: 3) { Self.liveTransactions(server) == 0 }, "\(server.log.suffix(1500))")

        // Warm: no DNS Worker, no new query.
        let asked = dns.queries.count
        caller.send(caller.request("INVITE", user: "alice", headers: ["X-Domain: service.test"], callID: "srv-2@test"))
        #expect(peer.receive(timeout: 3) != nil)
        #expect(dns.queries.count == asked)
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
    }

    /// While the INVITE waits for the DNS Worker: its retransmission is absorbed (100
    /// again, no second query queued), a CANCEL gets 200 and the INVITE 487 at once, and
    /// the resume after the budget sends nothing more.
    @Test func aWaitingInviteAbsorbsRetransmissionsAndCanBeCancelled() throws {
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: 9))
        let config = Self.config.replacingOccurrences(of: "if (is_method(\"ACK\")) { t_check_trans(); exit; }",
                                                      with: "if (is_method(\"ACK\")) { t_check_trans(); exit; }\n    if (is_method(\"CANCEL\")) { t_relay(); exit; }")
        #expect(config.contains("CANCEL"))
        let server = try Self.server(dns, config: config)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        let invite = caller.request("INVITE", user: "erin", headers: ["X-Domain: slow.test"], callID: "cancel-1@test")
        caller.send(invite)
        #expect(caller.receive(timeout: 1)?.statusCode == 100)
        caller.send(invite)
        #expect(caller.receive(timeout: 1)?.statusCode == 100, "the retransmission is answered 100")
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
        let cancel = invite.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
            .replacingOccurrences(of: "X-Domain: slow.test\r\n", with: "")
        let start = Date()
        caller.send(cancel)
        var codes: [String: Int] = [:]
        #expect(waitUntil(timeout: 1) {
            if let m = caller.receive(timeout: 0.1), !m.isRequest, m.statusCode >= 200 { codes[m.method.name] = m.statusCode }
            return codes.count == 2
        })
        #expect(codes == ["CANCEL": 200, "INVITE": 487], "\(codes) \(server.log.suffix(1500))")
        #expect(Date().timeIntervalSince(start) < 0.5)
        // The DNS Worker's resume (after the 2 s budget) finds it cancelled: nothing more.
        #expect(waitUntil(timeout: 4) { server.log.contains("cancelled or timed out while") }, "\(server.log.suffix(1500))")
        while let m = caller.receive(timeout: 0.3) {
            #expect(m.statusCode == 487, "only 487 retransmissions may follow, not \(m.statusCode)")
        }
    }

    /// t_relay after an explicit t_newtran(): the resumed relay uses the R-URI the script
    /// set after the transaction was created, as the inline relay would.
    @Test func theResumedRelaySeesChangesMadeAfterTNewtran() throws {
        let peer = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: peer.port))
        let config = Self.config.replacingOccurrences(of: "    $ru = ", with: "    t_newtran();\n    $ru = ")
        #expect(config.contains("t_newtran();"))
        let server = try Self.server(dns, config: config)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        caller.send(caller.request("INVITE", user: "dave", headers: ["X-Domain: service.test"], callID: "newtran-1@test"))
        let relayed = try #require(peer.receive(timeout: 3), "nothing relayed: \(server.log.suffix(1500))")
        #expect(String(decoding: relayed, as: UTF8.self).hasPrefix("INVITE sip:dave@service.test SIP/2.0\r\n"))
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
    }

    /// Over TCP: the tcp receiver hands the name over too; the INVITE reaches the SRV
    /// target and the 200 goes back on the caller's connection (sent by the DNS Worker's
    /// relay through the tcp main).
    @Test func aTCPRequestIsRelayedThroughTheWorker() throws {
        let peer = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: peer.port))
        let config = Self.config.replacingOccurrences(of: "listen=udp:127.0.0.1:PORT",
                                                      with: "listen=udp:127.0.0.1:PORT\nlisten=tcp:127.0.0.1:PORT\ntcp_children=1")
        let server = try Self.server(dns, config: config)
        defer { server.stop() }
        let tcp = try LoopbackTCPConnection(port: server.port)
        let invite = TCPTransportTests.request("INVITE", user: "frank", port: server.port, callID: "tcp-1",
                                               headers: ["X-Domain: service.test"])
        #expect(tcp.send(invite))
        let relayed = try #require(peer.receive(timeout: 3), "nothing relayed: \(server.log.suffix(1500))")
        #expect(String(decoding: relayed, as: UTF8.self).hasPrefix("INVITE sip:frank@service.test SIP/2.0\r\n"))
        #expect(Self.dnsQueue(server)?["pushed"] as? Int == 1)
        peer.send(SIPTestClient.reply(to: relayed, "200 OK"), to: server.port)
        #expect(tcp.read(timeout: 3) { _ in tcp.count("SIP/2.0 200 OK") == 1 }, "\(String(decoding: tcp.received, as: UTF8.self))")
    }

    /// A DNS Worker killed while it resolves: the master restarts it and answers the
    /// transaction it held 500 at once (not at fr_inv_timer); the new worker serves the next name.
    @Test func aKilledWorkerIsRestartedAndItsTransactionAnswered() throws {
        let peer = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: DNSServerTests.zone(peerPort: peer.port))
        let server = try Self.server(dns, config: Self.config.replacingOccurrences(of: "dns_retr_time=2", with: "dns_retr_time=5"))
        defer { server.stop() }
        func workerPID() -> Int32? {
            let processes = (try? server.arenaSample().object["processes"] as? [[String: Any]]) ?? []
            return processes.first { $0["description"] as? String == "DNS Worker" && $0["alive"] as? Bool == true }
                .flatMap { ($0["pid"] as? Int).map(Int32.init) }
        }
        let first = try #require(workerPID())
        let caller = try SIPTestClient(server: server.port)
        caller.send(caller.request("INVITE", user: "bob", headers: ["X-Domain: slow.test"], callID: "killed-1@test"))
        #expect(waitUntil(timeout: 2) { Self.dnsQueue(server)?["taken"] as? Int == 1 })
        kill(first, SIGKILL)
        let start = Date()
        let final = Self.finalReply(caller, callID: "killed-1@test", timeout: 3)
        #expect(final?.statusCode == 500, "\(server.log.suffix(1500))")
        #expect(Date().timeIntervalSince(start) < 2.5)
        #expect(waitUntil(timeout: 3) { workerPID().map { $0 != first } ?? false })
        caller.send(caller.request("INVITE", user: "alice", headers: ["X-Domain: service.test"], callID: "killed-2@test"))
        #expect(peer.receive(timeout: 3) != nil, "\(server.log.suffix(1500))")
    }
}
