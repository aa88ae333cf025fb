import Foundation
import SIP
import TestSupport
import Testing

private let statisticsConfig = """
#!KAMAILIO
debug=2
log_stderror=yes
listen=udp:127.0.0.1:PORT
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "ctl.so"
loadmodule "kex.so"
modparam("ctl", "binrpc", "unix:SOCKET")
modparam("tm", "wt_timer", WT)
request_route {
    if ($rm == "OPTIONS") { sl_send_reply("200", "OK"); exit; }
    if ($rm == "ACK") { t_check_trans(); exit; }
    if ($rU == "drop") { drop; }
    if ($rU == "busy") { t_newtran(); t_reply("486", "Busy Here"); exit; }
    if ($rU == "relay") { $du = $hdr(X-Next); t_relay(); exit; }
    if ($rU == "fwd") { $du = "sip:127.0.0.1:" + $hdr(X-Port); forward(); exit; }
    sl_send_reply("404", "Not Here");
}
reply_route {
    if ($rs == "480") { drop; }
}
"""

/// Kamailio's statistics counted by a running server, read from outside with respite-shm.
/// The expected counts are Kamailio 5.6.3's for the same config and messages (observed on
/// loopback): tm's automatic 100 comes from t_relay, not from t_newtran.
@Suite(.serialized) struct StatisticsServerTests {
    @Test func countsWhatTheServerReceivesRelaysAndAnswers() throws {
        let directory = try Spawn.scratchDirectory("stats")
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("ctl").path
        let server = try ServerProcess(config: statisticsConfig.replacingOccurrences(of: "WT", with: "60000")
                                           .replacingOccurrences(of: "SOCKET", with: socket),
                                       readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let callee = try LoopbackUDPSocket()

        for _ in 0..<2 { #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200) }
        for method in ["MESSAGE", "FOO", "KDMQ"] { #expect(client.exchange(client.request(method, user: "nobody"))?.statusCode == 404) }
        client.send(client.request("BYE", user: "drop"))
        #expect(client.receive(timeout: 0.3) == nil, "drop sends nothing")

        // A stateful 486, then the ACK that stops its retransmissions.
        let busy = client.request("INVITE", user: "busy", callID: "busy-\(client.port)", branch: "z9hG4bK-busy-\(client.port)")
        let reply = try #require(client.exchange(busy))
        #expect(reply.statusCode == 486)
        let toTag = reply.to.tag ?? ""
        client.send(client.request("ACK", user: "busy", headers: ["To: <sip:busy@127.0.0.1:\(server.port)>;tag=\(toTag)"],
                                   callID: "busy-\(client.port)", branch: "z9hG4bK-busy-\(client.port)"))

        // A relayed INVITE the callee answers 200.
        client.send(client.request("INVITE", user: "relay", headers: ["X-Next: sip:127.0.0.1:\(callee.port)"]))
        let relayed = try #require(callee.receive(timeout: 2))
        callee.send(SIPTestClient.reply(to: relayed, "200 OK"), to: server.port)
        var got200 = false
        let deadline = Date().addingTimeInterval(2)
        while !got200, Date() < deadline, let m = client.receive(timeout: 0.5) { got200 = !m.isRequest && m.statusCode == 200 }
        #expect(got200, "the 200 comes back through the transaction")

        // A stateless relay and its reply.
        client.send(client.request("MESSAGE", user: "fwd", headers: ["X-Port: \(callee.port)"]))
        let forwarded = try #require(callee.receive(timeout: 2))
        callee.send(SIPTestClient.reply(to: forwarded, "200 OK"), to: server.port)
        #expect(client.receive(timeout: 2)?.statusCode == 200)

        // A reply reply_route drops, one for nobody here (its Via is not ours: counted
        // nowhere), a request with a broken Via, one without Call-ID, and no SIP at all.
        let stray = "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: stray\r\nCSeq: 7 REGISTER\r\nContent-Length: 0\r\n\r\n"
        client.send("SIP/2.0 480 Gone\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKstray\r\n" + stray)
        client.send("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKstray\r\n" + stray)
        client.send("MESSAGE sip:nobody@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/XYZ\r\nFrom: <sip:t@x>;tag=1\r\nTo: <sip:n@x>\r\nCall-ID: v\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
        var noCallID = client.request("MESSAGE", user: "nobody")
        noCallID = noCallID.split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Call-ID:") }.joined(separator: "\r\n")
        client.send(noCallID)
        client.send("garbage\r\n\r\n")

        let expected: [String: Int] = [
            "core:rcv_requests": 10, "core:rcv_requests_options": 2, "core:rcv_requests_message": 2,
            "core:unsupported_methods": 1, "core:rcv_requests_bye": 1,
            "core:rcv_requests_invite": 2, "core:rcv_requests_ack": 1, "core:drop_requests": 0,
            "core:rcv_replies": 4, "core:rcv_replies_2xx": 3, "core:rcv_replies_2xx_invite": 1,
            "core:rcv_replies_2xx_message": 1, "core:rcv_replies_2xx_reg": 1,
            "core:rcv_replies_4xx": 1, "core:rcv_replies_480": 1, "core:rcv_replies_4xx_reg": 1,
            "core:drop_replies": 1, "core:fwd_requests": 1, "core:fwd_replies": 1,
            "core:bad_msg_hdr": 1, "core:err_requests": 1, "core:err_replies": 0,
            "sl:200_replies": 2, "sl:404_replies": 3, "sl:sent_replies": 5, "sl:failures": 0,
            "tm:total": 2, "tm:created": 2, "tm:rpl_received": 1, "tm:2xx": 1, "tm:4xx": 1,
            "tm:freed": 0, "tm:current": 2, "tm:waiting": 2,
        ]
        var values: [String: Int] = [:]
        try waitUntil(timeout: 5, interval: 0.05) {
            values = try statistics(server)
            return values["core:bad_msg_hdr"] == 1 && values["core:err_requests"] == 1 && values["core:rcv_replies"] == 4
        }
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(values[name] == value, "\(name)")
        }
        // tm's own 100 for the relayed INVITE (t_newtran sends none), the 486; the relayed
        // 200 goes up too.
        #expect(values["tm:rpl_generated"] == 2)
        #expect(values["tm:rpl_sent"] == 3)

        let prom = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName, "--prometheus"], timeout: 10)
        #expect(prom.status == 0, "\(prom.stderr)")
        try PrometheusFormat.check(prom.stdout)
        #expect(prom.stdout.contains("\nrespite_core_rcv_requests 10\n"))
        #expect(prom.stdout.contains("# TYPE respite_tm_current gauge\nrespite_tm_current 2\n"))
        #expect(prom.stdout.contains("\nrespite_timer_wheel_armed{wheel=\"tm\"} "))
        #expect(prom.stdout.contains("\nrespite_processes "))

        // The same numbers through Kamailio's RPCs (kamcmd over ctl), and a reset.
        func kamcmd(_ args: String...) throws -> String {
            try Spawn.run("/usr/sbin/kamcmd", ["-s", "unix:" + socket] + args, timeout: 10).stdout
        }
        let core = try kamcmd("stats.get_statistics", "core:")
        #expect(core.contains("core:rcv_requests = 10\n") && core.contains("core:bad_msg_hdr = 1\n"), "\(core)")
        #expect(try kamcmd("stats.get_statistics", "tm:").isEmpty, "only tm.stats shows tm's, as in Kamailio")
        let tm = try kamcmd("tm.stats")
        #expect(tm.contains("total: 2") && tm.contains("4xx: 1") && tm.contains("current: 2") && tm.contains("delayed_free: 0"), "\(tm)")
        #expect(try kamcmd("sl.stats").contains("404: 3"))
        #expect(try kamcmd("stats.fetch", "rcv_requests").contains("core.rcv_requests: 10"))
        _ = try kamcmd("stats.reset_statistics", "rcv_requests", "sl:")
        #expect(try kamcmd("stats.get_statistics", "rcv_requests", "rcv_requests_options") == "core:rcv_requests = 0\ncore:rcv_requests_options = 2\n")
        let after = try statistics(server)
        #expect(after["core:rcv_requests"] == 0 && after["sl:404_replies"] == 0 && after["tm:total"] == 2)
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200)
        try waitUntil(timeout: 5, interval: 0.05) { try statistics(server)["core:rcv_requests"] == 1 }
        #expect(try statistics(server)["core:rcv_requests_options"] == 3)
    }

    @Test func countsTransactionsFreedAfterTheirWait() throws {
        let directory = try Spawn.scratchDirectory("stats")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServerProcess(config: statisticsConfig.replacingOccurrences(of: "WT", with: "100")
                                           .replacingOccurrences(of: "SOCKET", with: directory.appendingPathComponent("ctl").path),
                                       readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        for i in 0..<3 {
            #expect(client.exchange(client.request("MESSAGE", user: "busy", callID: "m\(i)-\(client.port)"))?.statusCode == 486)
        }
        var values: [String: Int] = [:]
        try waitUntil(timeout: 5, interval: 0.05) {
            values = try statistics(server)
            return values["tm:freed"] == 3
        }
        #expect(values["tm:created"] == 3)
        #expect(values["tm:freed"] == 3, "each ends after wt_timer")
        #expect(values["tm:current"] == 0)
        #expect(values["tm:4xx"] == 3)
        #expect(values["tm:rpl_generated"] == 3, "no 100 for a MESSAGE")
    }

    /// "group:name" -> value, from `respite-shm --json`.
    func statistics(_ server: ServerProcess) throws -> [String: Int] {
        let r = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName, "--json"], timeout: 10)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let entries = (object?["statistics"] as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        var out: [String: Int] = [:]
        for e in entries {
            if let g = e["group"] as? String, let n = e["name"] as? String, let v = e["value"] as? Int { out["\(g):\(n)"] = v }
        }
        return out
    }
}
