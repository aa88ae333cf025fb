import Foundation
import SIP
import Script
import TestSupport
import Testing
@testable import Runtime

/// The core's Request-URI rewrites, force_rport / add_local_rport, corex's append_branch,
/// and the route types Kamailio 5.6.3 accepts for the functions issue 10 named.
@Suite(.serialized) struct CoreURIFunctionsTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "kex.so"
    loadmodule "corex.so"
    loadmodule "textops.so"
    request_route {
        if (is_method("OPTIONS") && $rU == "ping") { sl_send_reply("200", "pong"); exit; }
        if ($rU == "rewrite") {
            rewriteuser("alice");
            rewritehost("example.org");
            rewriteport("5099");
            $var(a) = $ru;
            sethostport("10.0.0.1:5070");
            prefix("00");
            strip_tail(1);
            $var(b) = $ru;
            revert_uri();
            seturi("sip:carol@example.com;transport=tcp");
            if (isdsturiset()) { $var(d) = "set"; } else { $var(d) = "unset"; }
            sl_send_reply("200", "$var(a) $var(b) $ru $var(d)");
            exit;
        }
        if ($rU == "relay") {
            force_rport();
            add_local_rport();
            rewriteuser("callee");
            rewriteport($hdr(X-Port));
            t_relay();
            exit;
        }
        if ($rU == "fork") {
            rewriteport($hdr(X-Port));
            append_branch("sip:second@127.0.0.1:" + $hdr(X-Port2), "0.5");
            t_relay();
            exit;
        }
        sl_send_reply("404", "unknown test");
    }
    """

    @Test func requestURIRewrites() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let reply = try #require(client.exchange(client.request("MESSAGE", user: "rewrite")), "\(server.log)")
        #expect(reply.reasonPhrase == "sip:alice@example.org:5099 sip:00alic@10.0.0.1:5070 sip:carol@example.com;transport=tcp unset")
    }

    /// force_rport: the received Via gets rport=<source port> though it did not ask;
    /// add_local_rport: our own Via asks for it.
    @Test func forceRPortAndAddLocalRPortMarkTheVias() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let callee = try SIPTestClient(server: server.port)
        let via = "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bK-norport-\(UInt32.random(in: 0...UInt32.max))"
        client.send(client.request("MESSAGE", user: "relay", headers: [via, "X-Port: \(callee.port)"]))
        let relayed = try #require(callee.receive(timeout: 2), "\(server.log)")
        #expect(relayed.requestURIString == "sip:callee@127.0.0.1:\(callee.port)")
        let vias = relayed.headerValues("Via")
        #expect(vias.count == 2 && vias[0].hasSuffix(";rport"), "\(vias)")
        #expect(vias.count == 2 && vias[1] == "SIP/2.0/UDP 127.0.0.1:\(client.port);rport=\(client.port);branch=" + (relayed.vias[1].branch ?? ""),
                "\(vias)")
    }

    @Test func appendBranchForksToEveryTarget() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let first = try SIPTestClient(server: server.port)
        let second = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "fork", headers: ["X-Port: \(first.port)", "X-Port2: \(second.port)"]))
        let a = try #require(first.receive(timeout: 2), "\(server.log)")
        let b = try #require(second.receive(timeout: 2), "\(server.log)")
        #expect(a.requestURIString == "sip:fork@127.0.0.1:\(first.port)")
        #expect(b.requestURIString == "sip:second@127.0.0.1:\(second.port)")
        #expect(a.topVia.branch != b.topVia.branch, "one branch each")
    }

    /// What Kamailio 5.6.3's `kamailio -c` accepted and refused for the same lines.
    @Test func routeTypesFollowKamailio() {
        let head = """
            loadmodule "tm.so"
            loadmodule "sl.so"
            loadmodule "rr.so"
            loadmodule "corex.so"
            request_route { t_on_reply("R"); t_on_failure("F"); t_on_branch("B"); t_relay(); }

            """
        func errors(_ routes: String) -> [String] {
            let loader = ScriptLoader(registry: RuntimeRegistry.make(), readFile: { _ in nil })
            var text = head
            for (name, line) in [("onreply_route[R]", "onreply_route[R] { return; }\n"), ("failure_route[F]", "failure_route[F] { return; }\n"),
                                 ("branch_route[B]", "branch_route[B] { return; }\n")] where !routes.contains(name) {
                text += line
            }
            return loader.load(text: text + routes, name: "t.cfg").diagnostics.items.filter { $0.severity.rawValue == "error" }.map(\.message)
        }
        let accepted = [
            "reply_route { t_check_trans(); }",
            "event_route[tm:branch-failure:x] { t_relay(); }",
            "event_route[tm:branch-failure:x] { t_on_branch_failure(\"x\"); t_branch_timeout(); t_branch_replied(); }",
            "onreply_route[R] { t_on_branch_failure(\"x\"); } branch_route[B] { t_on_branch_failure(\"x\"); }",
            "onreply_route[R] { send_reply(\"200\", \"ok\"); }",
            "onreply_route[R] { route(S); } route[S] { t_on_reply(\"R\"); }",
            "onreply_route[R] { t_on_failure(\"F\"); }",
            "branch_route[B] { t_check_trans(); record_route(); add_rr_param(\";a=b\"); }",
            "failure_route[F] { append_branch(\"sip:a@b\", \"0.5\"); remove_record_route(); }",
            "onreply_route[R] { force_rport(); rewritehost(\"x\"); drop; }",
            "event_route[xhttp:request] { loose_route(); }",
        ]
        for cfg in accepted { #expect(errors(cfg) == [], "\(cfg)") }
        let refused = [
            ("failure_route[F] { t_check_trans(); }", "t_check_trans cannot be used in failure_route"),
            ("reply_route { t_on_reply(\"R\"); }", "t_on_reply cannot be used in reply_route"),
            ("reply_route { t_on_branch_failure(\"x\"); }", "t_on_branch_failure cannot be used in reply_route"),
            ("onreply_route[R] { t_on_branch(\"B\"); }", "t_on_branch cannot be used in onreply_route"),
            ("onreply_route[R] { record_route(); }", "record_route cannot be used in onreply_route"),
            ("failure_route[F] { loose_route(); }", "loose_route cannot be used in failure_route"),
            ("branch_route[B] { append_branch(); }", "append_branch cannot be used in branch_route"),
            ("branch_route[B] { send_reply(\"200\", \"ok\"); }", "send_reply cannot be used in branch_route"),
            ("onreply_route[R] { t_relay(); }", "t_relay cannot be used in onreply_route"),
        ]
        for (cfg, message) in refused { #expect(errors(cfg) == [message], "\(cfg)") }
    }
}
