import Foundation
import SIP
import Testing
import TestSupport

/// tm's and tmx's questions about a transaction, asked where real configs ask them: in
/// the request route before relaying, in branch_route, and in the failure route after a
/// branch answered or timed out.
@Suite(.serialized) struct TMStateChecksTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    request_route {
        if (t_precheck_trans()) { t_check_trans(); exit; }
        $du = $hdr(X-Next);
        if (!t_is_set("failure_route")) { t_on_failure("FAILED"); }
        if (t_is_set("failure_route") && !t_is_set("branch_route")) { t_on_branch("B"); }
        t_set_fr(3000, 800);
        if (!t_relay()) { sl_send_reply("500", "relay failed"); }
    }
    branch_route[B] {
        if (t_is_branch_route()) { append_hf("X-Branch-Index: $T_branch_idx\\r\\n"); }
    }
    failure_route[FAILED] {
        if (t_is_canceled()) { exit; }
        if (t_branch_timeout()) { t_reply("503", "timeout any=$T_reply_code"); exit; }
        if (t_branch_replied() && t_check_status("4[0-9][0-9]") && t_any_replied()) {
            t_reply("503", "replied $T_reply_code $T_reply_reason");
            exit;
        }
        t_reply("500", "unexpected");
    }
    """

    @Test func failureRouteSeesHowTheBranchEnded() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let uas = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "x", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"]))
        let forwarded = try #require(uas.receive(timeout: 2), "\(server.log)")
        #expect(forwarded.headerValue("X-Branch-Index") == "0", "t_on_branch was armed once, $T_branch_idx is the branch")
        var out = MessageBuffer()
        ReplyBuilder.reply(to: forwarded, status: 486, reason: "Busy Here", into: &out)
        uas.send(out.bytes)
        let replied = try #require(GoldenServerTests.finalReply(client, timeout: 2))
        #expect(replied.reasonPhrase == "replied 486 Busy Here", "\(server.log)")

        let silent = client.request("MESSAGE", user: "x", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"])
        let timedOut = try #require(client.exchange(silent, timeout: 4), "\(server.log)")
        #expect(timedOut.reasonPhrase == "timeout any=408")
    }
}
