import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// http_async_client over UDP against a real HTTP server on loopback: the route an answer
/// resumes, failures, queries that suspend nothing, late answers, what respite-shm shows,
/// and many slow queries at once.
@Suite(.serialized) struct HTTPAsyncClientTests {
    static func config(http: HTTPTestServer) -> String {
        """
        #!KAMAILIO
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "jansson.so"
        loadmodule "http_async_client.so"
        modparam("http_async_client", "workers", 2)
        modparam("http_async_client", "connection_timeout", 3000)
        modparam("http_async_client", "maxdatasize", 1000000)
        modparam("tm", "fr_timer", 10000)
        request_route {
            if ($rU == "probe") { sl_send_reply("200", "probe"); exit; }
            if (is_method("ACK")) { exit; }
            if (is_method("BYE")) { sl_send_reply("200", "bye"); exit; }
            if ($rU == "nosuspend") {
                $http_req(suspend) = 0;
                http_async_query("\(http.url("/ok"))", "LOG");
                sl_send_reply("202", "queued $http_req_id");
                exit;
            }
            t_newtran();
            if ($rU == "refused") {
                http_async_query("http://127.0.0.1:1/ok", "ANSWER");
            } else if ($rU == "timeout") {
                $http_req(timeout) = 200;
                http_async_query("\(http.url("/slow/2000"))", "ANSWER");
            } else if ($rU == "late") {
                t_set_fr(0, 300);
                http_async_query("\(http.url("/slow/1200"))", "ANSWER");
            } else if ($rU == "sipp") {
                http_async_query("\(http.url("/ok"))", "ANSWER");
            } else if ($rU == "post") {
                $http_req(method) = "PUT";
                $http_req(body) = "ci=" + $ci;
                $http_req(hdr) = "X-From-Script: yes";
                http_async_query("\(http.url("/echo"))", "ANSWER");
            } else {
                http_async_query("\(http.url("/"))$(hdr(X-Path))", "ANSWER");
            }
            sl_send_reply("500", "not suspended");
        }
        route[ANSWER] {
            if (!$http_ok) {
                t_reply("503", "down: $http_err");
                exit;
            }
            if (jansson_get("nested.list[2].deep", $http_rb, "$var(deep)")) {
                t_reply("200", "json deep=$var(deep)");
                exit;
            }
            t_reply("200", "rs=$http_rs rr=$http_rr bs=$http_bs ct=$http_hdr(Content-Type) body=$http_rb");
        }
        route[LOG] {
            xlog("L_NOTICE", "no-suspend answer to query $http_req_id: $http_rs $http_rb\\n");
        }
        """
    }

    /// The HTTP body the route put at the end of the reason phrase.
    static func body(_ m: SIPMessage) -> String? {
        m.reasonPhrase.range(of: " body=").map { String(m.reasonPhrase[$0.upperBound...]) }
    }

    @Test func answersResumeTheRouteWithStatusBodyAndHeaders() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        for (path, status, expected) in [("ok", 200, "hello"), ("status/404", 404, "status 404"), ("status/500", 500, "status 500")] {
            let reply = try #require(client.exchange(client.request("OPTIONS", user: "get", headers: ["X-Path: \(path)"]), timeout: 5))
            #expect(reply.statusCode == 200, "\(path): \(reply.statusCode) \(reply.reasonPhrase)")
            #expect(reply.reasonPhrase.hasPrefix("rs=\(status) "), "\(path): \(reply.reasonPhrase)")
            #expect(reply.reasonPhrase.contains("ct=text/plain"))
            #expect(Self.body(reply) == expected)
        }
        // jansson reads a field of the answer in the resumed route.
        let json = try #require(client.exchange(client.request("INVITE", user: "get", headers: ["X-Path: json"]), timeout: 5))
        #expect(json.statusCode == 200 && json.reasonPhrase == "json deep=yes", "\(json.reasonPhrase)")

        let echo = try #require(client.exchange(client.request("OPTIONS", user: "post", callID: "echo-1@test"), timeout: 5))
        let body = Self.body(echo) ?? ""
        #expect(body.contains("\"method\": \"PUT\"") && body.contains("\"body\": \"ci=echo-1@test\"")
                && body.contains("\"X-From-Script\": \"yes\""), "\(body)")
        _ = server.stop()
    }

    @Test func failedExchangesRunTheRouteWithHttpOkFalse() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        let refused = try #require(client.exchange(client.request("OPTIONS", user: "refused"), timeout: 5))
        #expect(refused.statusCode == 503 && refused.reasonPhrase.contains("down:"), "\(refused.reasonPhrase)")
        // A lying 2 GB Content-Length (1 MB sent) and a 10 MB body: both over maxdatasize.
        for path in ["huge-length", "big/10485760"] {
            let big = try #require(client.exchange(client.request("OPTIONS", user: "get", headers: ["X-Path: \(path)"]), timeout: 5))
            #expect(big.statusCode == 503 && big.reasonPhrase.contains("maxdatasize"), "\(path): \(big.reasonPhrase)")
        }
        let started = Date()
        let timedOut = try #require(client.exchange(client.request("OPTIONS", user: "timeout"), timeout: 5))
        #expect(timedOut.statusCode == 503 && timedOut.reasonPhrase.lowercased().contains("timed out"), "\(timedOut.reasonPhrase)")
        // The 200 ms timeout ended it, not the server's 2 s answer.
        #expect(Date().timeIntervalSince(started) < 1.8)
        let stats = try #require(server.arenaSample().object["httpQueries"] as? [String: Any])
        #expect(stats["errors"] as? Int == 3 && stats["timeouts"] as? Int == 1, "\(stats)")
        _ = server.stop()
    }

    @Test func aQueryThatSuspendsNothingRunsItsRouteOnItsOwn() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        let reply = try #require(client.exchange(client.request("OPTIONS", user: "nosuspend"), timeout: 5))
        #expect(reply.statusCode == 202)
        let id = reply.reasonPhrase.split(separator: " ").last.map(String.init) ?? "?"
        #expect(Int(id) != nil, "\(reply.reasonPhrase)")
        #expect(waitUntil(timeout: 5) { server.log.contains("no-suspend answer to query \(id): 200 hello") }, "\(server.log)")
        _ = server.stop()
    }

    @Test func anAnswerAfterTheTransactionEndedIsDroppedAndCounted() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        // fr_timer (300 ms) ends the transaction with 408 before the 1.2 s answer.
        let reply = try #require(client.exchange(client.request("OPTIONS", user: "late"), timeout: 5))
        #expect(reply.statusCode == 408, "\(reply.statusCode) \(reply.reasonPhrase)")
        var stats: [String: Any] = [:]
        #expect(waitUntil(timeout: 5) {
            stats = (try? server.arenaSample().object["httpQueries"] as? [String: Any]) ?? [:]
            return stats["orphaned"] as? Int == 1 && stats["used"] as? Int == 0
        }, "\(stats)")
        #expect(server.log.contains("the answer is dropped"))
        // Nothing else came for that request.
        #expect(client.receive(timeout: 0.3).map { $0.statusCode } == nil)
        _ = server.stop()
    }

    @Test func aPendingQueryIsVisibleInTheArena() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("OPTIONS", user: "get", headers: ["X-Path: slow/800"]))
        var pending: [[String: Any]] = []
        #expect(waitUntil(timeout: 3) {
            let q = (try? server.arenaSample().object["httpQueries"] as? [String: Any]) ?? [:]
            pending = q["pending"] as? [[String: Any]] ?? []
            return !pending.isEmpty
        })
        let entry = try #require(pending.first)
        #expect((entry["url"] as? String)?.hasSuffix("/slow/800") == true, "\(entry)")
        #expect(entry["transaction"] is String && entry["state"] as? String == "running", "\(entry)")
        let text = try Products.run("respite-shm", ["--shm-name", server.shmName])
        #expect(text.stdout.contains("http queries  pending 1/4096") && text.stdout.contains("/slow/800"), "\(text.stdout)")
        var final: SIPMessage?
        while final == nil, let m = client.receive(timeout: 3) { if m.statusCode >= 200 { final = m } }
        #expect(final?.statusCode == 200)
        #expect(waitUntil(timeout: 3) {
            ((try? server.arenaSample().object["httpQueries"] as? [String: Any])?["used"] as? Int) == 0
        })
        _ = server.stop()
    }

    /// 100 queries that each take 1 s at the server run at once: all are answered long
    /// before 100 s (or 50 s with two workers blocking), and the receivers keep answering.
    /// (The timing figures come from Benchmarks/http; this checks only that nothing waits
    /// for another query.)
    @Test func manySlowQueriesRunTogetherWhileReceiversKeepAnswering() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        let client = try SIPTestClient(server: server.port)
        let probe = try SIPTestClient(server: server.port)
        let started = Date()
        var callIDs = Set<String>()
        for i in 0..<100 {
            let id = "slow-\(i)@test"
            callIDs.insert(id)
            client.send(client.request("OPTIONS", user: "get", headers: ["X-Path: slow/1000"], callID: id))
        }
        let probeReply = probe.exchange(probe.request("OPTIONS", user: "probe"), timeout: 2)
        #expect(probeReply?.statusCode == 200)
        var answered = 0
        while answered < 100, Date().timeIntervalSince(started) < 8, let m = client.receive(timeout: 8) {
            if m.statusCode == 200, callIDs.remove(m.callID) != nil { answered += 1 }
        }
        #expect(answered == 100, "\(answered) of 100 answered in \(Date().timeIntervalSince(started)) s")
        #expect(Date().timeIntervalSince(started) < 8)
        _ = server.stop()
    }

    /// Kamailio's own async HTTP flow: SIPp's INVITEs, each suspended on a query and
    /// answered 200 from the resumed route, then ACK and BYE.
    @Test func sippInvitesSuspendedOnQueriesAllSucceed() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/sipp") else {
            Issue.record("sipp is missing: make test installs sip-tester")
            return
        }
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http))
        // (The readiness ping made a query too.)
        let before = try #require(server.arenaSample().object["httpQueries"] as? [String: Any])["replies"] as? Int ?? 0
        let run = try Spawn.run("/usr/bin/sipp", [
            "-sn", "uac", "127.0.0.1:\(server.port)", "-s", "sipp", "-i", "127.0.0.1", "-p", String(try FreePort.udp()),
            "-m", "20", "-r", "10", "-timeout", "20", "-timeout_error", "-nostdin",
        ], timeout: 30)
        #expect(run.status == 0, "20 calls succeed\n\(run.output.suffix(2000))\n\(server.log.suffix(1500))")
        let stats = try #require(server.arenaSample().object["httpQueries"] as? [String: Any])
        #expect((stats["replies"] as? Int ?? 0) - before == 20, "\(stats)")
        _ = server.stop()
    }

    /// An Http Worker killed while it runs queries: the master restarts it and frees their
    /// entries, fr_timer answers their transactions, and the new worker serves new queries.
    @Test func aKilledHttpWorkerLeavesNothingPending() throws {
        let http = try HTTPTestServer()
        let server = try ServerProcess(config: Self.config(http: http).replacingOccurrences(
            of: "modparam(\"tm\", \"fr_timer\", 10000)", with: "modparam(\"tm\", \"fr_timer\", 1500)"))
        let client = try SIPTestClient(server: server.port)
        for i in 0..<3 { client.send(client.request("OPTIONS", user: "get", headers: ["X-Path: slow/4000"], callID: "doomed-\(i)@test")) }
        var running = 0
        #expect(waitUntil(timeout: 3) {
            let q = (try? server.arenaSample().object["httpQueries"] as? [String: Any]) ?? [:]
            running = (q["pending"] as? [[String: Any]] ?? []).filter { $0["state"] as? String == "running" }.count
            return running == 3
        }, "\(running) running")
        let workers = try server.processes().filter { $0.role == "http worker" }
        try #require(workers.count == 2)
        for w in workers { kill(w.pid, SIGKILL) }
        // fr_timer (1.5 s) answers every doomed transaction: 408.
        var answered = 0
        while answered < 3, let m = client.receive(timeout: 4) {
            if m.statusCode == 408 && m.callID.hasPrefix("doomed-") { answered += 1 }
        }
        #expect(answered == 3)
        let q = try #require(server.arenaSample().object["httpQueries"] as? [String: Any])
        #expect(q["used"] as? Int == 0 && q["settled"] as? Int == 3, "\(q)")
        #expect(waitUntil(timeout: 5) { (try? server.processes().filter { $0.role == "http worker" && $0.alive }.count) == 2 })
        let after = try #require(client.exchange(client.request("OPTIONS", user: "get", headers: ["X-Path: ok"]), timeout: 5))
        #expect(after.statusCode == 200 && after.reasonPhrase.hasPrefix("rs=200"), "\(after.reasonPhrase)")
        _ = server.stop()
    }

    @Test func badLiteralsAreLoadErrors() throws {
        let base = "#!KAMAILIO\nloadmodule \"tm.so\"\nloadmodule \"pv.so\"\nloadmodule \"http_async_client.so\"\n"
        let cases: [(String, String)] = [
            ("request_route {\n  http_async_query(\"ftp://example.com/x\", \"R\");\n}\nroute[R] { exit; }\n", "not an http:// or https:// URL"),
            ("request_route {\n  http_async_query(\"http:///x\", \"R\");\n}\nroute[R] { exit; }\n", "has no host"),
            ("request_route {\n  http_async_query(\"http://h/x\", \"NOPE\");\n}\n", "NOPE"),
            ("request_route {\n  $http_req(colour) = 1;\n}\n", "unknown $http_req(colour)"),
            ("modparam(\"http_async_client\", \"workers\", 0)\nrequest_route { exit; }\n", "workers must be between 1 and 64"),
            ("modparam(\"http_async_client\", \"connection_timeout\", 0)\nrequest_route { exit; }\n", "at least 1"),
        ]
        let dir = try Spawn.scratchDirectory("http-load")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, (body, needle)) in cases.enumerated() {
            let file = dir.appendingPathComponent("case\(i).cfg")
            try (base + body).write(to: file, atomically: true, encoding: .utf8)
            let r = try Products.run("respite", ["-c", "-f", file.path])
            #expect(r.status == 1, "case \(i) must be rejected:\n\(r.output)")
            #expect(r.output.contains("case\(i).cfg:") && r.output.contains(needle), "case \(i):\n\(r.output)")
        }
    }
}
