import Foundation
import SIP
import TestSupport
import Testing

/// textopsx with the built server beside Kamailio 5.6.3 on the same config: the header-value
/// functions, keep_hf and msg_apply_changes change the relayed request the same way,
/// change_reply_status the relayed reply, hf_value_exists and fnmatch answer the same.
@Suite(.serialized) struct TextOpsXTests {
    /// Each case: the `X-C` value that selects it, and what the config does for it.
    static let cases: [(String, String)] = [
        ("rm-first", #"remove_hf_value("Foo");"#), ("rm-all", #"remove_hf_value("Foo[*]");"#),
        ("rm-last", #"remove_hf_value("Foo[-1]");"#), ("rm-2", #"remove_hf_value("Foo[2]");"#),
        ("rm-3", #"remove_hf_value("Foo[3]");"#), ("rm-absent-param", #"remove_hf_value("Foo.x");"#),
        ("rm-params", #"remove_hf_value("Foo[*].x");"#), ("rm-none", #"remove_hf_value("Bar");"#),
        ("rm-out-of-range", #"remove_hf_value("Foo[9]");"#), ("rm2-first", #"remove_hf_value2("Foo");"#),
        ("rm2-2", #"remove_hf_value2("Foo[2]");"#), ("rm-twice", #"remove_hf_value("Supported[2]"); remove_hf_value("Supported[1]");"#),
        ("as-first", #"assign_hf_value("Foo", "new");"#), ("as-2", #"assign_hf_value("Foo[2]", "n");"#),
        ("as-params", #"assign_hf_value("Foo[*].x", "9");"#), ("as-flag", #"assign_hf_value("Foo[-1].y", "");"#),
        ("as-add-param", #"assign_hf_value("Foo.x", "1");"#), ("as2", #"assign_hf_value2("Foo", "zz");"#),
        ("ap-new", #"append_hf_value("Foo", "app");"#), ("ap-1", #"append_hf_value("Foo[1]", "app");"#),
        ("ap-last", #"append_hf_value("Foo[-1]", "app");"#), ("ap-missing", #"append_hf_value("Foo[9]", "z");"#),
        ("in-new", #"insert_hf_value("Foo", "ins");"#), ("in-1", #"insert_hf_value("Foo[1]", "ins");"#),
        ("in-2", #"insert_hf_value("Foo[2]", "ins");"#), ("in-4", #"insert_hf_value("Foo[4]", "ins");"#),
        ("in-absent", #"insert_hf_value("X-None", "v");"#),
        ("inc", #"include_hf_value("Supported", "path"); include_hf_value("Supported", "timer");"#),
        ("inc-absent", #"include_hf_value("X-None", "a");"#), ("inc-case", #"include_hf_value("Foo", "B;X=1");"#),
        ("exc-first", #"exclude_hf_value("Supported", "100rel");"#), ("exc-last", #"exclude_hf_value("Supported", "PATH");"#),
        ("exc-only", #"exclude_hf_value("Foo", "e");"#), ("exc-none", #"exclude_hf_value("Supported", "nope");"#),
        ("keep", #"keep_hf("X-K.*");"#), ("keep-icase", #"keep_hf("k1");"#),
        ("rm-all-append", #"remove_hf_value("Foo[*]"); append_hf_value("Foo", "new2");"#),
    ]

    static var config: String {
        let dispatch = cases.map { "    if ($var(c) == \"\($0.0)\") { \($0.1) $var(rc) = $rc; }" }.joined(separator: "\n")
        return """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "rr.so"
        loadmodule "textops.so"
        loadmodule "textopsx.so"
        request_route {
            if ($rU == "ping") { sl_send_reply("200", "pong"); exit; }
            $var(c) = $hdr(X-C);
            $var(rc) = 0;
            $du = "sip:127.0.0.1:" + $hdr(X-Next);
            if ($var(c) == "apply" || $var(c) == "apply-rr") {
                append_hf("X-A: 1\\r\\n");
                remove_hf("X-R");
                remove_hf_value("Foo[2]");
                $ru = "sip:new@127.0.0.1:" + $hdr(X-Next);
                if ($var(c) == "apply-rr") { record_route(); }
                $var(before) = "no"; if (is_present_hf("X-A")) { $var(before) = "yes"; }
                msg_apply_changes();
                $var(rc) = $rc;
                $var(after) = "no"; if (is_present_hf("X-A")) { $var(after) = "yes"; }
                $var(r) = "no"; if (is_present_hf("X-R")) { $var(r) = "yes"; }
                append_hf("X-Info: rc=$var(rc) before=$var(before) after=$var(after) r=$var(r) foo=$hdr(Foo) ru=$ru rU=$rU\\r\\n");
                t_relay();
                exit;
            }
            if ($var(c) == "crs") { t_on_reply("R"); t_relay(); exit; }
        \(dispatch)
            $var(e) = "";
            if (hf_value_exists("Supported", "100rel")) { $var(e) = $var(e) + "1"; }
            if (hf_value_exists("Supported", "PATH")) { $var(e) = $var(e) + "2"; }
            if (hf_value_exists("Foo", "b")) { $var(e) = $var(e) + "3"; }
            if (hf_value_exists("Foo", "b;x=1")) { $var(e) = $var(e) + "4"; }
            if (hf_value_exists("X_K1", "k")) { $var(e) = $var(e) + "5"; }
            $var(f) = "";
            if (fnmatch("$var(c)", "rm-*")) { $var(f) = $var(f) + "1"; }
            if (fnmatch("ABC", "a*")) { $var(f) = $var(f) + "2"; }
            if (fnmatch("ABC", "a*", "i")) { $var(f) = $var(f) + "3"; }
            if (fnmatch("abc", "[a-c]?c")) { $var(f) = $var(f) + "4"; }
            append_hf("X-Info: rc=$var(rc) e=$var(e) f=$var(f)\\r\\n");
            t_relay();
        }
        onreply_route[R] {
            $var(n) = $(hdr(X-New){s.int});
            change_reply_status("$var(n)", "Changed $hdr(X-New)");
            $var(rc) = $rc;
            append_hf("X-Crs: rc=$var(rc) rs=$rs\\r\\n");
        }
        """
    }

    static let fooHeaders = ["Foo: a, b;x=1, c;x=2;y", "X-K1: k", "Supported: 100rel, path", "Foo: d;x=3", "User-Agent: ua", "Foo: e",
                             "X-R: gone"]

    /// Both servers on the config, each answering the readiness probe.
    static func start() throws -> (KamailioServer, ServerProcess) {
        let kamailio = try KamailioServer(config: config)
        let respite = try ServerProcess(config: config, children: 1)
        let port = kamailio.port
        #expect(waitUntil(timeout: 10, interval: 0.1) {
            let probe = try? SIPTestClient(server: port)
            return probe?.exchange(probe!.request("OPTIONS", user: "ping"), timeout: 0.3) != nil
        }, "Kamailio never answered: \(kamailio.log)")
        return (kamailio, respite)
    }

    /// The header lines of the request relayed for case `c`, without those that differ by
    /// run (Via, Call-ID, tags, ports) or by design (Max-Forwards: Respite decrements it).
    static func relayed(_ c: String, port: UInt16, method: String = "OPTIONS") throws -> [String] {
        let uac = try SIPTestClient(server: port), uas = try SIPTestClient(server: port)
        uac.send(uac.request(method, headers: ["X-C: \(c)", "X-Next: \(uas.port)"] + fooHeaders))
        guard let m = uas.receive(timeout: 3) else { return ["(nothing relayed)"] }
        uas.send(SIPTestClient.reply(to: m.bytes, "200 OK"))
        let skipped: Set<String> = ["via", "max-forwards", "from", "to", "call-id", "cseq", "contact", "x-next"]
        let lines = RecordRouteTests.lines(m).dropFirst().filter { !skipped.contains($0.split(separator: ":")[0].lowercased()) }
        return ([m.requestURIString] + lines).map {
            $0.replacingOccurrences(of: String(uas.port), with: "NEXT").replacingOccurrences(of: String(port), with: "PORT")
        }
    }

    @Test func headerValueFunctionsEditTheRelayedRequestAsKamailioDoes() throws {
        let (kamailio, respite) = try Self.start()
        defer { kamailio.stop(); _ = respite.stop() }
        var answers: [String: [String]] = [:]
        for (c, _) in [("none", "")] + Self.cases {
            let k = try Self.relayed(c, port: kamailio.port), r = try Self.relayed(c, port: respite.port)
            #expect(k == r, "\(c)\nKamailio: \(k)\nRespite:  \(r)")
            answers[c] = r
        }
        // A few of the answers spelled out, so that a change on both sides shows too.
        #expect(answers["rm-2"]?.contains("Foo: a, c;x=2;y") == true, "\(answers["rm-2"] ?? [])")
        #expect(answers["rm-first"]?.contains("Foo:  b;x=1, c;x=2;y") == true)
        #expect(answers["rm-last"]?.contains("Foo: e") == false && answers["rm-last"]?.contains("X-Info: rc=1 e=124 f=14") == true,
                "\(answers["rm-last"] ?? [])")
        #expect(answers["in-2"]?.contains("Foo: a,ins, b;x=1, c;x=2;y") == true)
        #expect(answers["as-params"]?.contains("Foo: d;x=9") == true)
        #expect(answers["inc"]?.contains("Supported: 100rel, path,timer") == true)
        #expect(answers["keep"].map { $0.filter { !$0.hasPrefix("X-Info") } } == ["sip:service@127.0.0.1:PORT", "X-K1: k", "Content-Length: 0"],
                "\(answers["keep"] ?? [])")
        #expect(answers["rm-none"]?.last == "X-Info: rc=-1 e=124 f=14")
    }

    @Test func msgApplyChangesWritesTheEditsIntoTheMessageAsKamailioDoes() throws {
        let (kamailio, respite) = try Self.start()
        defer { kamailio.stop(); _ = respite.stop() }
        for c in ["apply", "apply-rr"] {
            let k = try Self.relayed(c, port: kamailio.port), r = try Self.relayed(c, port: respite.port)
            #expect(k == r, "\(c)\nKamailio: \(k)\nRespite:  \(r)")
        }
        let applied = try Self.relayed("apply", port: respite.port)
        #expect(applied.first == "sip:new@127.0.0.1:NEXT" && !applied.contains("X-R: gone") && applied.contains("Foo: a, c;x=2;y"))
        #expect(applied.last == "X-Info: rc=1 before=no after=yes r=no foo=a, c;x=2;y ru=sip:new@127.0.0.1:NEXT rU=new", "\(applied)")
        #expect(applied.filter { $0 == "X-A: 1" }.count == 1, "applied once: \(applied)")
        // After record_route() both refuse and leave the edits pending.
        let refused = try Self.relayed("apply-rr", port: respite.port)
        #expect(refused.last == "X-Info: rc=-1 before=no after=no r=yes foo=a, b;x=1, c;x=2;y ru=sip:new@127.0.0.1:NEXT rU=new", "\(refused)")
        #expect(respite.log.contains("msg_apply_changes: cannot apply the changes after record_route()"))
    }

    /// The reply relayed for a request whose callee answers `status` carrying `X-New: new`:
    /// its status line and X-Crs; 100 Trying skipped.
    static func relayedReply(method: String, _ status: String, new: Int, port: UInt16) throws -> String {
        let uac = try SIPTestClient(server: port), uas = try SIPTestClient(server: port)
        uac.send(uac.request(method, headers: ["X-C: crs", "X-Next: \(uas.port)"]))
        guard let m = uas.receive(timeout: 3) else { return "(nothing relayed)" }
        uas.send(SIPTestClient.reply(to: m.bytes, status, extra: ["X-New: \(new)"]))
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, let r = uac.receive(timeout: 1) {
            if r.statusCode == 100 { continue }
            return "\(r.statusCode) \(r.reasonPhrase) | \(r.headerValue("X-Crs") ?? "-")"
        }
        return "(no reply)"
    }

    @Test func changeReplyStatusChangesTheRelayedReplyAsKamailioDoes() throws {
        let (kamailio, respite) = try Self.start()
        defer { kamailio.stop(); _ = respite.stop() }
        let cases: [(String, String, Int, String)] = [
            ("INVITE", "404 Nope", 603, "603 Changed 603 | rc=1 rs=603"),
            ("INVITE", "404 Nope", 200, "404 Nope | rc=-1 rs=404"),
            ("INVITE", "200 OK", 404, "200 OK | rc=-1 rs=200"),
            ("INVITE", "180 Ringing", 183, "183 Changed 183 | rc=1 rs=183"),
            ("INVITE", "180 Ringing", 200, "180 Ringing | rc=-1 rs=180"),
            ("INVITE", "486 Busy", 180, "486 Busy | rc=-1 rs=486"),
            ("INVITE", "486 Busy", 700, "486 Busy | rc=-1 rs=486"),
            ("INVITE", "486 Busy", 99, "486 Busy | rc=-1 rs=486"),
            ("OPTIONS", "200 OK", 202, "202 Changed 202 | rc=1 rs=202"),
            ("OPTIONS", "603 Decline", 404, "404 Changed 404 | rc=1 rs=404"),
        ]
        for (method, status, new, expected) in cases {
            let k = try Self.relayedReply(method: method, status, new: new, port: kamailio.port)
            let r = try Self.relayedReply(method: method, status, new: new, port: respite.port)
            #expect(k == expected && r == expected, "\(method) \(status) -> \(new): Kamailio \(k), Respite \(r)")
        }
        #expect(respite.log.contains("change_reply_status: wrong status code 700"))
    }

    /// Selectors and route types both refuse when the config loads.
    @Test func badCallsFailToLoad() throws {
        let body = """
        #!KAMAILIO
        loadmodule "tm.so"
        loadmodule "textopsx.so"
        request_route {
            keep_hf();
            assign_hf_value("Foo[*]", "");
            remove_hf_value("Foo[x]");
            change_reply_status(404, "x");
            include_hf_value("Foo[1]", "a");
            append_hf_value("Foo.p", "a");
            hf_iterator_start("i");
            t_on_failure("F");
        }
        failure_route[F] { msg_apply_changes(); }
        """
        let dir = try Spawn.scratchDirectory("textopsx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.cfg")
        try body.write(to: file, atomically: true, encoding: .utf8)
        let r = try Spawn.run(Products.path("respite"), ["-c", "-f", file.path])
        #expect(r.status == 1, "\(r.output)")
        for needle in [
            "bad.cfg:5:5: error: keep_hf takes 1 argument, got 0",
            "bad.cfg:6:21: error: assign_hf_value does not take [*] without a parameter",
            "bad.cfg:7:21: error: cannot parse the index of 'Foo[x]' near 'x]'",
            "bad.cfg:8:5: error: change_reply_status cannot be used in request_route",
            "bad.cfg:9:22: error: include_hf_value takes a header name without an index",
            "bad.cfg:10:21: error: append_hf_value takes no header parameter",
            "bad.cfg:11:5: error: hf_iterator_start is not yet available in Respite",
            "bad.cfg:14:20: error: msg_apply_changes cannot be used in failure_route",
        ] {
            #expect(r.output.contains(needle), "\(needle)\n\(r.output)")
        }
    }
}
