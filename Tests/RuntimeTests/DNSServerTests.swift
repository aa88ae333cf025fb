import Foundation
import SIP
import TestSupport
import Testing

/// The built `respite` routing to a domain name: RESPITE_RESOLV_CONF points it at the
/// loopback responder, `t_relay()` and `forward()` reach the SRV target's port (the test's
/// own socket), and respite-shm shows what the DNS cache holds.
@Suite(.serialized) struct DNSServerTests {
    static let config = """
        #!KAMAILIO
        listen=udp:127.0.0.1:PORT
        dns_retr_time=1
        dns_retr_no=1
        dns_cache_negative_ttl=30
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        request_route {
            if (is_method("OPTIONS")) { sl_send_reply("200", "ok"); exit; }
            if (is_method("ACK")) { exit; }
            $ru = "sip:" + $rU + "@" + $hdr(X-Domain);
            if ($rU == "stateless") { forward(); exit; }
            if (!t_relay()) { sl_send_reply("500", "relay failed"); }
        }
        """

    static func zone(peerPort: UInt16) -> [String: Any] {
        [
            "records": [
                ["_sip._udp.service.test", "SRV", 60, [10, 0, Int(peerPort), "a.service.test"]],
                ["_sip._udp.service.test", "SRV", 60, [20, 0, 9, "b.service.test"]],
                ["a.service.test", "A", 60, "127.0.0.1"],
                ["b.service.test", "A", 60, "127.0.0.1"],
            ],
            "silent": ["_sip._udp.slow.test", "slow.test"],
        ]
    }

    @Test func relaysToTheSRVTargetAndTheCacheShowsIt() throws {
        let peer = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: Self.zone(peerPort: peer.port))
        let server = try ServerProcess(config: Self.config, environment: ["RESPITE_RESOLV_CONF": dns.resolvConf])
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)

        client.send(client.request("INVITE", user: "alice", headers: ["X-Domain: service.test"]))
        let relayed = try #require(peer.receive(timeout: 3), "nothing relayed: \(server.log)")
        #expect(String(decoding: relayed, as: UTF8.self).hasPrefix("INVITE sip:alice@service.test SIP/2.0\r\n"))
        #expect(try SIPMessage.parse(relayed).method == .invite)
        #expect(dns.queries.contains("_sip._udp.service.test SRV"))

        // Stateless, from the cache: no new query.
        let asked = dns.queries.count
        client.send(client.request("MESSAGE", user: "stateless", headers: ["X-Domain: service.test"]))
        let forwarded = try #require(peer.receive(timeout: 3), "nothing forwarded: \(server.log)")
        #expect(try SIPMessage.parse(forwarded).method == .message)
        #expect(dns.queries.count == asked)

        let text = try Products.run("respite-shm", ["--shm-name", server.shmName])
        #expect(text.stdout.contains("dns cache  entries"), "\(text.output)")
        #expect(text.stdout.contains("_sip._udp.service.test"))
        #expect(text.stdout.contains("10 0 \(peer.port) a.service.test"))
        let json = try Products.run("respite-shm", ["--shm-name", server.shmName, "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let cache = try #require(report["dnsCache"] as? [String: Any], "\(json.stdout.prefix(400))")
        #expect((cache["stored"] as? Int ?? 0) >= 2)
        #expect((cache["hits"] as? Int ?? 0) >= 2)
        let entries = try #require(cache["entries"] as? [[String: Any]])
        #expect(entries.contains { $0["name"] as? String == "a.service.test" && $0["type"] as? String == "A" })
    }

    /// A name whose server never answers: the request fails after the budget
    /// (dns_retr_time x dns_retr_no = 1 s) and the next one fails at once from the cache.
    @Test func aSilentNameCostsOneBudgetOnce() throws {
        let dns = try DNSTestServer(zone: Self.zone(peerPort: 9))
        let server = try ServerProcess(config: Self.config, environment: ["RESPITE_RESOLV_CONF": dns.resolvConf])
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        var start = Date()
        let first = try #require(client.exchange(client.request("INVITE", user: "bob", headers: ["X-Domain: slow.test"]),
                                                 timeout: 5), "\(server.log)")
        #expect(first.statusCode >= 400)
        let waited = Date().timeIntervalSince(start)
        #expect(waited >= 0.9 && waited < 4)
        start = Date()
        let second = try #require(client.exchange(client.request("INVITE", user: "bob", headers: ["X-Domain: slow.test"]),
                                                  timeout: 5))
        #expect(second.statusCode >= 400)
        #expect(Date().timeIntervalSince(start) < 0.5)
        let text = try Products.run("respite-shm", ["--shm-name", server.shmName])
        #expect(text.stdout.contains("no answer"), "\(text.stdout)")
    }

    /// use_dns_failover: a 503 from the first SRV target makes tm try the next one; the
    /// caller sees the second target's 200.
    @Test func aFailedSRVTargetFailsOverToTheNext() throws {
        let first = try LoopbackUDPSocket()
        let second = try LoopbackUDPSocket()
        let dns = try DNSTestServer(zone: [
            "records": [
                ["_sip._udp.service.test", "SRV", 60, [10, 0, Int(first.port), "a.service.test"]],
                ["_sip._udp.service.test", "SRV", 60, [20, 0, Int(second.port), "b.service.test"]],
                ["a.service.test", "A", 60, "127.0.0.1"],
                ["b.service.test", "A", 60, "127.0.0.1"],
            ],
        ])
        let config = Self.config.replacingOccurrences(of: "dns_retr_no=1", with: "dns_retr_no=1\nuse_dns_failover=on")
        let server = try ServerProcess(config: config, environment: ["RESPITE_RESOLV_CONF": dns.resolvConf])
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("INVITE", user: "carol", headers: ["X-Domain: service.test"], callID: "failover-1@test"))
        let toFirst = try #require(first.receive(timeout: 3), "nothing at the first target: \(server.log)")
        first.send(SIPTestClient.reply(to: toFirst, "503 Service Unavailable"), to: server.port)
        let toSecond = try #require(second.receive(timeout: 3), "no failover to the second target: \(server.log.suffix(1500))")
        #expect(try SIPMessage.parse(toSecond).method == .invite)
        second.send(SIPTestClient.reply(to: toSecond, "200 OK"), to: server.port)
        var final: SIPMessage?
        #expect(waitUntil(timeout: 3) {
            if let m = client.receive(timeout: 0.2), !m.isRequest, m.statusCode >= 200 { final = m }
            return final != nil
        })
        #expect(final?.statusCode == 200, "\(server.log.suffix(1500))")
    }

}
