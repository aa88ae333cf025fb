import Foundation
import SIP
import Testing
import TestSupport

/// tm's serial forking (`t_load_contacts` / `t_next_contacts`), replies from reply routes
/// (`send_reply`, `t_reply`) and `sl_reply_error`, each played against Kamailio 5.6.3 on
/// the same config: what the callees and the caller see, and the script's own log lines,
/// must be the same.
@Suite(.serialized) struct SerialForkingTests {
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
    loadmodule "usrloc.so"
    loadmodule "registrar.so"
    modparam("tm", "contacts_avp", "tm_contacts")
    modparam("tm", "contact_flows_avp", "tm_contact_flows")
    modparam("registrar", "max_contacts", 2)
    request_route {
        if (is_method("REGISTER")) {
            if (!save("location")) { sl_reply_error(); }
            exit;
        }
        if (is_method("ACK")) { t_relay(); exit; }
        if ($rU == "order") {
            $ru = "sip:a@example.com";
            append_branch("sip:b@example.com", "0.2");
            append_branch("sip:c@example.com", "0.5");
            append_branch("sip:e@example.com");
            append_branch("sip:d@example.com", "0.5");
            $du = "sip:127.0.0.9";
            $var(r) = t_load_contacts();
            xlog("L_INFO", "SERIAL load r=$var(r) ru=$ru du=$du\\n");
            xlog("L_INFO", "SERIAL 0 $xavp(tm_contacts[0]=>uri) $xavp(tm_contacts[0]=>dst_uri) $xavp(tm_contacts[0]=>q_flag)\\n");
            xlog("L_INFO", "SERIAL 1 $xavp(tm_contacts[1]=>uri) $xavp(tm_contacts[1]=>dst_uri) $xavp(tm_contacts[1]=>q_flag)\\n");
            xlog("L_INFO", "SERIAL 2 $xavp(tm_contacts[2]=>uri) $xavp(tm_contacts[2]=>dst_uri) $xavp(tm_contacts[2]=>q_flag)\\n");
            xlog("L_INFO", "SERIAL 3 $xavp(tm_contacts[3]=>uri) $xavp(tm_contacts[3]=>dst_uri) $xavp(tm_contacts[3]=>q_flag)\\n");
            xlog("L_INFO", "SERIAL 4 $xavp(tm_contacts[4]=>uri) $xavp(tm_contacts[4]=>dst_uri) $xavp(tm_contacts[4]=>q_flag)\\n");
            $var(r) = t_next_contacts();
            xlog("L_INFO", "SERIAL next r=$var(r) ru=$ru du=$du\\n");
            $var(r) = t_next_contacts();
            xlog("L_INFO", "SERIAL next r=$var(r) ru=$ru du=$du\\n");
            $var(r) = t_next_contacts();
            xlog("L_INFO", "SERIAL next r=$var(r) ru=$ru du=$du left=$xavp(tm_contacts=>uri)\\n");
            $var(r) = t_next_contacts();
            xlog("L_INFO", "SERIAL next r=$var(r) ru=$ru du=$du\\n");
            sl_send_reply("200", "ordered");
            exit;
        }
        if ($rU == "single") {
            $ru = "sip:a@example.com";
            $var(r) = t_load_contacts();
            $var(s) = t_next_contacts();
            xlog("L_INFO", "SERIAL single load=$var(r) next=$var(s) ru=$ru\\n");
            sl_send_reply("200", "single");
            exit;
        }
        if ($rU == "onreply") {
            t_on_reply("ANSWER");
            $du = $hdr(X-Next);
            t_relay();
            exit;
        }
        if ($rU == "unresolvable") {
            $du = "sip:[::1]:5099";     # no IPv6 socket: no address to send to
            if (!t_relay()) { sl_reply_error(); }
            exit;
        }
        if ($rU == "nosocket") {
            $du = "sip:127.0.0.1:5099;transport=tcp";     # no TCP socket
            if (!t_relay()) { sl_reply_error(); }
            exit;
        }
        if ($rU == "treply") {
            $du = "sip:[::1]:5099";
            if (!t_relay()) { t_reply("500", "Script Reply"); }
            exit;
        }
        if ($rU == "slreply") {
            $du = "sip:[::1]:5099";
            if (!t_relay()) { sl_send_reply("500", "Script Reply"); }
            exit;
        }
        if ($rU == "notnext") {
            $du = "sip:[::1]:5099";
            if (!t_relay()) { $var(x) = 1; sl_reply_error(); }
            exit;
        }
        if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
        if ($rU == "carol") { t_set_fr(1000, 1000); }
        t_load_contacts();
        t_next_contacts();
        xlog("L_INFO", "SERIAL first ru=$ru\\n");
        t_on_failure("NEXT");
        t_relay();
    }
    failure_route[NEXT] {
        if (!t_next_contacts()) {
            xlog("L_INFO", "SERIAL none left after $T_reply_code\\n");
            exit;
        }
        xlog("L_INFO", "SERIAL after $T_reply_code ru=$ru\\n");
        t_on_failure("NEXT");
        t_relay();
    }
    onreply_route[ANSWER] {
        if ($rs == 486) { send_reply("503", "Busy Elsewhere"); }
        if ($rs == 487) { t_reply("502", "Replied From Reply Route"); }
    }
    """

    /// Kamailio and Respite on `config`; `body` plays against each (port, log) in turn.
    static func bothServers<T>(_ body: (UInt16, () -> String) throws -> T) throws -> (kamailio: T, respite: T) {
        try KamailioServer.playBoth(config: config, body)
    }

    /// The script's `SERIAL` lines, from the word on, with each callee's port named.
    static func serialLines(_ log: String, naming ports: [UInt16: String] = [:]) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard let at = line.range(of: "SERIAL ") else { return nil }
            var text = String(line[at.upperBound...])
            for (port, name) in ports { text = text.replacingOccurrences(of: ":\(port)", with: ":\(name)") }
            return text
        }
    }

    /// The next request of `method` that reaches `uas` within `timeout` seconds.
    static func next(_ method: String, at uas: SIPTestClient, timeout: TimeInterval) -> SIPMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = uas.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { return nil }
            if m.isRequest && m.method.name == method { return m }
        }
        return nil
    }

    /// Every reply to `callID` within `seconds`, as "code reason", retransmissions once.
    static func replies(_ client: SIPTestClient, callID: String, for seconds: TimeInterval) -> [String] {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let m = client.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { break }
            let line = "\(m.statusCode) \(m.reasonPhrase)"
            if !m.isRequest && m.callID == callID && !seen.contains(line) { seen.append(line) }
        }
        return seen
    }

    /// Registers `first` (q=1.0) and `second` (q=0.5) for `user`, calls the user, and
    /// reports in order what each callee and the caller saw (the better contact rings
    /// alone; after its `answer`, or when nil after it rang until fr_inv_timer, the other
    /// one rings), then the
    /// script's lines for the call, the callees' ports named.
    static func serialCall(port: UInt16, user: String, answer: String?, log: () -> String) throws -> [String] {
        let client = try SIPTestClient(server: port)
        let first = try SIPTestClient(server: port), second = try SIPTestClient(server: port)
        for (uas, q) in [(second, "0.5"), (first, "1.0")] {
            let reg = client.request("REGISTER", user: user, headers: ["Contact: <sip:\(user)@127.0.0.1:\(uas.port)>;q=\(q)", "Expires: 60"])
            guard client.exchange(reg)?.statusCode == 200 else { throw Spawn.Failure("REGISTER of \(user) failed") }
        }
        let linesBefore = serialLines(log()).count
        var events: [String] = []
        let callID = "serial-\(user)-\(UInt32.random(in: 0...UInt32.max))"
        client.send(client.request("INVITE", user: user, callID: callID))
        guard let invite = next("INVITE", at: first, timeout: 3) else { return events + ["first: no INVITE"] }
        events.append("first: INVITE \(invite.requestURIString == "sip:\(user)@127.0.0.1:\(first.port)" ? "to its contact" : invite.requestURIString)")
        events.append(next("INVITE", at: second, timeout: 0.3) == nil ? "second: quiet" : "second: INVITE too early")
        first.send(SIPTestClient.reply(to: invite.bytes, answer ?? "180 Ringing"))
        guard let later = next("INVITE", at: second, timeout: 4) else { return events + ["second: no INVITE"] }
        events.append("second: INVITE \(later.requestURIString == "sip:\(user)@127.0.0.1:\(second.port)" ? "to its contact" : later.requestURIString)")
        second.send(SIPTestClient.reply(to: later.bytes, "603 Decline"))
        events.append("caller: " + (DNSWorkerTests.finalReply(client, callID: callID, timeout: 3).map { "\($0.statusCode)" } ?? "nothing"))
        _ = waitUntil(timeout: 2) { serialLines(log()).count >= linesBefore + 3 }
        return events + serialLines(log(), naming: [first.port: "FIRST", second.port: "SECOND"]).dropFirst(linesBefore)
    }

    @Test func theHigherQRingsFirstAndTheNextAfterItsBusyOrTimeout() throws {
        let (k, r) = try Self.bothServers { port, log -> [String] in
            try Self.serialCall(port: port, user: "alice", answer: "486 Busy Here", log: log)
                + Self.serialCall(port: port, user: "carol", answer: nil, log: log)
        }
        #expect(k == [
            "first: INVITE to its contact", "second: quiet", "second: INVITE to its contact", "caller: 603",
            "first ru=sip:alice@127.0.0.1:FIRST", "after 486 ru=sip:alice@127.0.0.1:SECOND", "none left after 603",
            "first: INVITE to its contact", "second: quiet", "second: INVITE to its contact", "caller: 603",
            "first ru=sip:carol@127.0.0.1:FIRST", "after 408 ru=sip:carol@127.0.0.1:SECOND", "none left after 603",
        ])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    @Test func contactsAreOrderedByQAndTakenGroupByGroup() throws {
        let (k, r) = try Self.bothServers { port, log -> [String] in
            let client = try SIPTestClient(server: port)
            for user in ["order", "single"] {
                guard client.exchange(client.request("OPTIONS", user: user))?.statusCode == 200 else { throw Spawn.Failure("no 200 for \(user)") }
            }
            _ = waitUntil(timeout: 2) { Self.serialLines(log()).count >= 11 }
            return Self.serialLines(log())
        }
        #expect(k == [
            "load r=1 ru=sip:a@example.com du=sip:127.0.0.9",
            "0 sip:d@example.com <null> 0",
            "1 sip:c@example.com <null> 4",
            "2 sip:b@example.com <null> 4",
            "3 sip:e@example.com <null> 0",
            "4 sip:a@example.com sip:127.0.0.9 0",
            "next r=1 ru=sip:d@example.com du=<null>",
            "next r=1 ru=sip:b@example.com du=<null>",
            "next r=1 ru=sip:e@example.com du=<null> left=<null>",
            "next r=-2 ru=sip:e@example.com du=<null>",
            "single load=1 next=-2 ru=sip:a@example.com",
        ])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    @Test func sendReplyAndTReplyInAReplyRouteAnswerTheTransaction() throws {
        let (k, r) = try Self.bothServers { port, _ -> [String] in
            var out: [String] = []
            for answer in ["486 Busy Here", "487 Request Terminated"] {
                let client = try SIPTestClient(server: port), uas = try SIPTestClient(server: port)
                let callID = "onreply-\(UInt32.random(in: 0...UInt32.max))"
                client.send(client.request("INVITE", user: "onreply", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"], callID: callID))
                guard let invite = Self.next("INVITE", at: uas, timeout: 3) else { out.append("callee: no INVITE"); continue }
                uas.send(SIPTestClient.reply(to: invite.bytes, answer))
                out.append("callee: " + (Self.next("ACK", at: uas, timeout: 2) == nil ? "no ACK" : "ACK"))
                out += Self.replies(client, callID: callID, for: 1).filter { !$0.hasPrefix("100 ") }
            }
            return out
        }
        #expect(k == ["callee: ACK", "503 Busy Elsewhere", "callee: ACK", "502 Replied From Reply Route"])
        #expect(r == k)
    }

    @Test func slReplyErrorAfterAFailedSaveOrRelay() throws {
        let (k, r) = try Self.bothServers { port, _ -> [String] in
            let client = try SIPTestClient(server: port)
            var out: [String] = []
            let contacts = ["<sip:x1@127.0.0.1:1111>, <sip:x2@127.0.0.1:1112>, <sip:x3@127.0.0.1:1113>", "<sip:y@127.0.0.1:1111>;q=7"]
            for (i, contact) in contacts.enumerated() {
                let callID = "slerr-\(i)-\(UInt32.random(in: 0...UInt32.max))"
                client.send(client.request("REGISTER", user: "many\(i)", headers: ["Contact: \(contact)", "Expires: 60"], callID: callID))
                out.append(Self.replies(client, callID: callID, for: 0.8).joined(separator: " / "))
            }
            for user in ["unresolvable", "nosocket", "notnext"] {
                let callID = "slerr-\(user)-\(UInt32.random(in: 0...UInt32.max))"
                client.send(client.request("INVITE", user: user, callID: callID))
                out.append(Self.replies(client, callID: callID, for: 1).sorted().joined(separator: " / "))
            }
            // tm's own reply comes once the route is over, unless the route replied statefully.
            for user in ["treply", "slreply"] {
                let callID = "slerr-\(user)-\(UInt32.random(in: 0...UInt32.max))"
                client.send(client.request("INVITE", user: user, callID: callID))
                out.append(Self.replies(client, callID: callID, for: 1).joined(separator: " / "))
            }
            return out
        }
        let sorry = "500 I'm terribly sorry, server error occurred (1/SL)"
        #expect(k == ["503 Service Unavailable / \(sorry)", "400 Bad Request / \(sorry)",
                      "100 trying -- your call is important to us / 478 Unresolvable destination (478/SL) / 478 Unresolvable destination (478/TM)",
                      "100 trying -- your call is important to us / 500 I'm terribly sorry, server error occurred (7/SL) / 500 I'm terribly sorry, server error occurred (7/TM)",
                      "100 trying -- your call is important to us / 478 Unresolvable destination (478/TM) / \(sorry)",
                      "100 trying -- your call is important to us / 500 Script Reply",
                      "100 trying -- your call is important to us / 500 Script Reply / 478 Unresolvable destination (478/TM)"])
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }
}

/// Respite alone: `send_reply_error` (which Kamailio 5.6.3 does not have) and the
/// parameter checks of serial forking.
@Suite(.serialized) struct SerialForkingRespiteTests {
    static func config(_ params: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "corex.so"
        \(params)
        request_route {
            if ($rU == "stateful") { t_newtran(); }
            if ($rU == "serial") {
                append_branch("sip:b@example.com", "0.5");
                $var(l) = t_load_contacts();
                $var(n) = t_next_contacts();
                xlog("L_INFO", "SERIAL load=$var(l) next=$var(n)\\n");
                sl_send_reply("200", "serial");
                exit;
            }
            send_reply_error();
        }
        """
    }

    @Test func sendReplyErrorAnswersStatefullyWhenThereIsATransaction() throws {
        let server = try ServerProcess(config: Self.config(""), readiness: .processesStarted)
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        let sorry = "I'm terribly sorry, server error occurred"
        let stateless = client.exchange(client.request("INVITE", user: "plain"))
        #expect(stateless.map { "\($0.statusCode) \($0.reasonPhrase)" } == "500 \(sorry) (1/SL)")
        let callID = "sre-\(UInt32.random(in: 0...UInt32.max))"
        client.send(client.request("INVITE", user: "stateful", callID: callID))
        // tm retransmits its negative reply to an INVITE until the ACK: the same 500 comes again.
        var finals: [String] = []
        let deadline = Date().addingTimeInterval(1.5)
        while Date() < deadline, let m = client.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) {
            if m.callID == callID && m.statusCode >= 200 { finals.append("\(m.statusCode) \(m.reasonPhrase)") }
        }
        #expect(finals.count >= 2 && Set(finals) == ["500 \(sorry) (1/TM)"], "\(finals)")
    }

    @Test func contactsAVPWithoutContactFlowsAVPIsRefused() {
        #expect(throws: (any Error).self) {
            _ = try ServerProcess(config: Self.config(#"modparam("tm", "contacts_avp", "tm_contacts")"#),
                                  readiness: .processesStarted, timeout: 5)
        }
    }

    @Test func withoutContactsAVPTheFunctionsFailAndSaySo() throws {
        let server = try ServerProcess(config: Self.config(""), readiness: .processesStarted)
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(client.exchange(client.request("OPTIONS", user: "serial"))?.statusCode == 200)
        #expect(waitUntil(timeout: 2) { server.log.contains("SERIAL load=-1 next=-1") }, "\(server.log)")
        #expect(server.log.contains("set tm's contacts_avp"))
    }
}
