import Foundation
import SIP
import Testing
import TestSupport

/// tm's `t_on_branch_failure` and `event_route[tm:branch-failure:X]`, played against
/// Kamailio 5.6.3 on the same config over loopback UDP, with callees that answer 486 (or
/// not at all): what the callees and the caller see and the script's `BRFAIL` lines must
/// be the same.
@Suite(.serialized) struct BranchFailureTests {
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "textops.so"
    loadmodule "corex.so"
    request_route {
        if (is_method("ACK")) { t_relay(); exit; }
        t_on_branch_failure("BF");
        t_on_failure("F");
        # (before $du: Kamailio's append_branch copies $du into the branch)
        if ($rU == "fork") { append_branch("$hdr(X-Other)"); }
        $du = $hdr(X-Next);
        if ($rU == "timeout") { t_set_fr(1000, 1000); }
        t_relay();
    }
    event_route[tm:branch-failure:BF] {
        xlog("L_INFO", "BRFAIL BF $rU code=$T_reply_code reason=$T_reply_reason idx=$T_branch_idx rm=$rm rs=$rs\\n");
        if (t_branch_timeout()) { xlog("L_INFO", "BRFAIL BF $rU timed out\\n"); }
        if ($rU == "drop") { drop; }
        if (($rU == "retry" || $rU == "rearm") && $T_branch_idx == 0) {
            if ($rU == "rearm") { t_on_branch_failure("BF2"); }
            # Kamailio relays again only after $ru or $du was set
            $du = $hdr(X-Next);
            $var(r) = t_relay();
            xlog("L_INFO", "BRFAIL BF $rU relay=$var(r)\\n");
        }
    }
    event_route[tm:branch-failure:BF2] {
        xlog("L_INFO", "BRFAIL BF2 $rU code=$T_reply_code idx=$T_branch_idx\\n");
    }
    failure_route[F] {
        xlog("L_INFO", "BRFAIL F $rU code=$T_reply_code reason=$T_reply_reason idx=$T_branch_idx\\n");
        if ($rU == "fretry" && $avp(again) == $null) {
            $avp(again) = 1;
            t_on_failure("F");
            $du = $hdr(X-Next);
            t_relay();
        }
    }
    """

    /// Kamailio, then Respite, on `config`; `body` plays against each.
    static func bothServers<T>(_ body: (UInt16, () -> String) throws -> T) throws -> (kamailio: T, respite: T) {
        try KamailioServer.playBoth(config: config, body)
    }

    /// Calls `user` with callees that answer each INVITE with `answer` (nil: never), and
    /// reports what the callees saw (sorted), the caller's final reply and the script's lines.
    static func call(port: UInt16, user: String, answer: String?, seconds: TimeInterval, log: () -> String) throws -> [String] {
        let client = try SIPTestClient(server: port)
        let first = try SIPTestClient(server: port), second = try SIPTestClient(server: port)
        let before = lines(log()).count
        let callID = "brfail-\(user)-\(UInt32.random(in: 0...UInt32.max))"
        client.send(client.request("INVITE", user: user, headers: [
            "X-Next: sip:127.0.0.1:\(first.port)", "X-Other: sip:other@127.0.0.1:\(second.port)",
        ], callID: callID))
        var events: [String] = []
        var seen: Set<String> = []
        var final: SIPMessage?
        var deadline = Date().addingTimeInterval(seconds)
        // Each new request once (retransmissions share their Via branch).
        while Date() < deadline {
            for (name, uas) in [("first", first), ("second", second)] {
                while let m = uas.receive(timeout: 0.05) {
                    guard m.isRequest, seen.insert("\(name) \(m.method.name) \(m.topVia.branch ?? "")").inserted else { continue }
                    events.append("\(name): \(m.method.name)")
                    if m.method.name == "INVITE", let answer { uas.send(SIPTestClient.reply(to: m.bytes, answer)) }
                }
            }
            while final == nil, let m = client.receive(timeout: 0.05) {
                guard !m.isRequest, m.callID == callID, m.statusCode >= 200 else { continue }
                final = m
                deadline = min(deadline, Date().addingTimeInterval(0.3)) // the callees' ACKs
            }
        }
        // The callees' requests sorted: two callees may interleave.
        events.sort()
        events.append("caller: " + (final.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "nothing"))
        _ = waitUntil(timeout: 1) { lines(log()).contains { $0.hasPrefix("F \(user) ") } }
        return events + lines(log()).dropFirst(before)
    }

    /// The script's `BRFAIL` lines, from the word on.
    static func lines(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            line.range(of: "BRFAIL ").map { String(line[$0.upperBound...]) }
        }
    }

    static func calls(_ users: [String], answer: String?, seconds: TimeInterval) throws -> (kamailio: [String], respite: [String]) {
        try bothServers { port, log in
            try users.flatMap { try call(port: port, user: $0, answer: answer, seconds: seconds, log: log) }
        }
    }

    @Test func eachFailedBranchRunsItsRouteBeforeTheFailureRoute() throws {
        let (k, r) = try Self.calls(["plain", "drop", "fork", "fretry"], answer: "486 Busy Here", seconds: 3)
        #expect(k == [
            "first: ACK", "first: INVITE", "caller: 486 Busy Here",
            "BF plain code=486 reason= idx=0 rm=INVITE rs=<null>", "F plain code=486 reason=Busy Here idx=1",
            "first: ACK", "first: INVITE", "caller: 486 Busy Here",
            "BF drop code=486 reason= idx=0 rm=INVITE rs=<null>", "F drop code=486 reason=Busy Here idx=1",
            "first: ACK", "first: INVITE", "second: ACK", "second: INVITE", "caller: 486 Busy Here",
            "BF fork code=486 reason= idx=0 rm=INVITE rs=<null>", "BF fork code=486 reason= idx=1 rm=INVITE rs=<null>",
            "F fork code=486 reason=Busy Here idx=2",
            "first: ACK", "first: ACK", "first: INVITE", "first: INVITE", "caller: 486 Busy Here",
            "BF fretry code=486 reason= idx=0 rm=INVITE rs=<null>",
            "F fretry code=486 reason=Busy Here idx=1", "F fretry code=486 reason=Busy Here idx=2",
        ])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    @Test func tRelayInTheRouteAddsABranchThatRunsOnlyARouteArmedAgain() throws {
        let (k, r) = try Self.calls(["retry", "rearm"], answer: "486 Busy Here", seconds: 3)
        #expect(k == [
            "first: ACK", "first: ACK", "first: INVITE", "first: INVITE", "caller: 486 Busy Here",
            "BF retry code=486 reason= idx=0 rm=INVITE rs=<null>", "BF retry relay=1", "F retry code=486 reason=Busy Here idx=2",
            "first: ACK", "first: ACK", "first: INVITE", "first: INVITE", "caller: 486 Busy Here",
            "BF rearm code=486 reason= idx=0 rm=INVITE rs=<null>", "BF rearm relay=1", "BF2 rearm code=486 idx=1",
            "F rearm code=486 reason=Busy Here idx=2",
        ])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    @Test func aBranchThatTimesOutRunsItWith408() throws {
        let (k, r) = try Self.calls(["timeout"], answer: nil, seconds: 4)
        #expect(k == [
            "first: INVITE", "caller: 408 Request Timeout",
            "BF timeout code=408 reason= idx=0 rm=INVITE rs=<null>", "BF timeout timed out",
            "F timeout code=408 reason=Request Timeout idx=1",
        ])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    /// The arm is in the shared arena: `respite-shm` shows it on the transaction and on
    /// its branch while the callee has not answered yet.
    @Test func respiteShmShowsTheArmedRoute() throws {
        let respite = try ServerProcess(config: Self.config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        let client = try SIPTestClient(server: respite.port), uas = try SIPTestClient(server: respite.port)
        client.send(client.request("INVITE", user: "timeout", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"]))
        #expect(uas.receive(timeout: 3) != nil)
        let text = try Spawn.run(Products.path("respite-shm"), ["--shm-name", respite.shmName], timeout: 10)
        let json = try Spawn.run(Products.path("respite-shm"), ["--shm-name", respite.shmName, "--json"], timeout: 10)
        #expect(text.status == 0 && json.status == 0)
        #expect(text.stdout.contains("t_on_branch_failure route"), "\(text.stdout)")
        #expect(text.stdout.contains("branch-failure route"), "\(text.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let shown = try #require((object["transactions"] as? [String: Any])?["shown"] as? [[String: Any]])
        let tx = try #require(shown.first { $0["method"] as? String == "INVITE" })
        let armed = try #require(tx["armedRoutes"] as? [String: Int])
        #expect(armed["t_on_branch_failure"] != nil && armed["t_on_failure"] != nil)
        let branch = try #require((tx["branches"] as? [[String: Any]])?.first)
        #expect(branch["branchFailureRoute"] as? Int == armed["t_on_branch_failure"])
    }
}
