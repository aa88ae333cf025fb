import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// tm over UDP: stateful replies, retransmissions, the proxy, timeouts, CANCEL, and
/// t_suspend / t_continue across processes.
@Suite(.serialized) struct TransactionTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "htable.so"
    loadmodule "textops.so"
    modparam("htable", "htable", "s=>size=4")
    modparam("htable", "htable", "runs=>size=4;initval=0")
    request_route {
        if (is_method("ACK")) {
            if (t_check_trans()) { t_relay(); }
            exit;
        }
        if (is_method("CANCEL")) {
            if (t_check_trans()) { t_relay(); }
            exit;
        }
        $var(n) = $shtinc(runs=>$ci);
        if ($rU == "stateful") {
            t_newtran();
            t_reply("200", "stateful run $var(n)");
            exit;
        }
        if ($rU == "reject") {
            t_newtran();
            t_reply("404", "Not Here");
            exit;
        }
        if ($rU == "relay") {
            $du = $hdr(X-Next);
            t_on_failure("FAILED");
            t_set_fr(3000, 800);
            if (!t_relay()) { sl_send_reply("500", "relay failed"); }
            exit;
        }
        if ($rU == "branch") {
            $du = $hdr(X-Next);
            t_on_branch("B");
            if (!t_relay()) { sl_send_reply("500", "branch dropped"); }
            exit;
        }
        if ($rU == "suspend") {
            $avp(kept) = "avp-kept";
            $var(lost) = "var-set";
            setflag(5);
            t_suspend();
            $sht(s=>index) = $T(id_index);
            $sht(s=>label) = $T(id_label);
            $sht(s=>pid) = $pp;
            exit;
        }
        if ($rU == "continue") {
            if ($pp == $sht(s=>pid) && $hdr(X-Same) != "ok") {
                usleep(50000);  # stay busy, so the other receiver takes the next one
                sl_send_reply("200", "same process");
                exit;
            }
            $var(label) = $sht(s=>label);
            if ($hdr(X-Stale) == "yes") { $var(label) = $var(label) + 1; }
            if (t_continue($sht(s=>index), $var(label), "RESUME")) {
                sl_send_reply("200", "continued");
            } else {
                sl_send_reply("200", "refused");
            }
            exit;
        }
        sl_send_reply("404", "unknown test");
    }
    route[RESUME] {
        if (isflagset(5)) { $var(f) = "flag"; } else { $var(f) = "noflag"; }
        t_reply("200", "resumed $avp(kept) [$var(lost)] $var(f) pid $pp suspended-by $sht(s=>pid)");
    }
    branch_route[B] {
        if ($hdr(X-Drop) == "yes") { drop; }
        append_hf("X-Branch: seen\\r\\n");
    }
    failure_route[FAILED] {
        t_reply("503", "failure route saw $T_reply_code");
    }
    """

    @Test func statefulRepliesAbsorbRetransmissions() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let request = client.request("MESSAGE", user: "stateful")
        let first = try #require(client.exchange(request), "\(server.log)")
        #expect(first.statusCode == 200 && first.reasonPhrase == "stateful run 1")
        let again = try #require(client.exchange(request))
        #expect(again.reasonPhrase == "stateful run 1", "the stored reply, the route did not run again")
        #expect(again.to.tag == first.to.tag)
    }

    @Test func anInvitesNegativeReplyIsRetransmittedUntilItsAck() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let invite = client.request("INVITE", user: "reject")
        client.send(invite)
        var codes: [Int] = []
        var final: SIPMessage?
        let deadline = Date().addingTimeInterval(1.5)
        while Date() < deadline, let m = client.receive(timeout: deadline.timeIntervalSinceNow) {
            codes.append(m.statusCode)
            if m.statusCode >= 300 { final = m }
        }
        #expect(codes.first == 404, "no 100 before the script's reply: t_newtran sends none, as in Kamailio: \(codes)")
        #expect(codes.filter { $0 == 404 }.count >= 2, "404 retransmitted (timer G): \(codes)")
        let reply = try #require(final)
        // The ACK (same branch, the reply's To tag) stops the retransmissions.
        var ack = invite.replacingOccurrences(of: "INVITE sip:", with: "ACK sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 ACK")
        ack = ack.replacingOccurrences(of: "To: <sip:reject@127.0.0.1:\(server.port)>",
                                       with: "To: <sip:reject@127.0.0.1:\(server.port)>;tag=\(reply.to.tag ?? "")")
        client.send(ack)
        usleep(100_000)
        while client.receive(timeout: 0.05) != nil {}
        #expect(client.receive(timeout: 1.2) == nil, "no retransmission after the ACK")
    }

    @Test func relayedRequestsGetTheUpstreamAnswerOrTheFailureRoute() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let uas = try SIPTestClient(server: server.port)
        // The next hop answers 486: relayed back (our Via removed).
        let request = client.request("MESSAGE", user: "relay", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"])
        client.send(request)
        let forwarded = try #require(uas.receive(timeout: 2), "\(server.log)")
        #expect(forwarded.isRequest && forwarded.vias.count == 2)
        #expect(forwarded.maxForwards == 69)
        #expect(forwarded.topVia.branch?.hasPrefix("z9hG4bKrsp") == true)
        var out = MessageBuffer()
        ReplyBuilder.reply(to: forwarded, status: 486, reason: "Busy Here", into: &out)
        uas.send(out.bytes)
        let relayed = try #require(GoldenServerTests.finalReply(client, timeout: 2))
        #expect(relayed.statusCode == 503 && relayed.reasonPhrase == "failure route saw 486",
                "t_on_failure ran with the branch's code")

        // A next hop that never answers: fr_timer (t_set_fr 800 ms) ends the branch with 408.
        let silent = client.request("MESSAGE", user: "relay", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"])
        let timedOut = try #require(client.exchange(silent, timeout: 4), "\(server.log)")
        #expect(timedOut.statusCode == 503 && timedOut.reasonPhrase == "failure route saw 408")
        var copies = 0
        while uas.receive(timeout: 0.05) != nil { copies += 1 }
        #expect(copies >= 2, "the branch request was retransmitted (timer E) before the timeout")
    }

    @Test func branchRouteRunsBeforeEachBranchAndMayDropIt() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let uas = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "branch", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"]))
        let forwarded = try #require(uas.receive(timeout: 2), "\(server.log)")
        #expect(forwarded.headerValue("X-Branch") == "seen", "branch_route's header is on the branch")
        let dropped = try #require(client.exchange(client.request("MESSAGE", user: "branch",
            headers: ["X-Next: sip:127.0.0.1:\(uas.port)", "X-Drop: yes"])))
        #expect(dropped.reasonPhrase == "branch dropped")
    }

    @Test func suspendInOneProcessContinueFromAnother() throws {
        let server = try ServerProcess(config: Self.config, children: 2)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        let other = try SIPTestClient(server: server.port)
        caller.send(caller.request("MESSAGE", user: "suspend"))
        #expect(caller.receive(timeout: 0.3) == nil, "suspended: no reply yet")
        let stale = try #require(other.exchange(other.request("OPTIONS", user: "continue", headers: ["X-Stale: yes", "X-Same: ok"])))
        #expect(stale.reasonPhrase == "refused", "a stale label never reaches the transaction")
        // A burst keeps both receivers busy, so the other process gets one of them.
        for _ in 0..<12 { other.send(other.request("OPTIONS", user: "continue")) }
        var answers: [String] = []
        while let r = other.receive(timeout: 0.5) { answers.append(r.reasonPhrase) }
        #expect(answers.filter { $0 == "continued" }.count == 1, "\(answers)\n\(server.log)")
        let resumed = try #require(caller.receive(timeout: 2), "\(server.log)")
        #expect(resumed.statusCode == 200)
        // $avp and flags come with the transaction; $var is the resuming process's own.
        let words = resumed.reasonPhrase.split(separator: " ").map(String.init)
        #expect(words.count == 8 && words[0] == "resumed" && words[1] == "avp-kept" && words[3] == "flag", "\(resumed.reasonPhrase)")
        #expect(words.count == 8 && words[5] != words[7], "resumed in another process")
        #expect(words.count == 8 && words[2] == "[<null>]", "$var is private to the process: \(resumed.reasonPhrase)")
        let again = try #require(other.exchange(other.request("OPTIONS", user: "continue", headers: ["X-Same: ok"])))
        #expect(again.reasonPhrase == "refused", "an answered transaction does not resume twice")
    }

    @Test func aCancelEndsAPendingInviteWith487() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let uas = try SIPTestClient(server: server.port)
        let invite = client.request("INVITE", user: "relay", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"])
        client.send(invite)
        let forwarded = try #require(uas.receive(timeout: 2))
        var out = MessageBuffer()
        ReplyBuilder.reply(to: forwarded, status: 180, reason: "Ringing", toTag: "uas1", into: &out)
        uas.send(out.bytes)
        #expect(client.receive(timeout: 2)?.statusCode == 100)
        #expect(client.receive(timeout: 2)?.statusCode == 180)
        let cancel = invite.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        client.send(cancel)
        #expect(client.receive(timeout: 2)?.statusCode == 200, "200 to the CANCEL")
        let downstreamCancel = try #require(uas.receive(timeout: 2))
        #expect(downstreamCancel.method == .cancel && downstreamCancel.topVia.branch == forwarded.topVia.branch)
        ReplyBuilder.reply(to: forwarded, status: 487, reason: "Request Terminated", toTag: "uas1", into: &out)
        uas.send(out.bytes)
        let final = try #require(client.receive(timeout: 2))
        #expect(final.statusCode == 487)
        let ack = try #require(uas.receive(timeout: 2))
        #expect(ack.method == .ack, "tm ACKs the 487 downstream")
    }
}
