import Foundation
import SIP
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// http_client end to end: a respite server whose async task route calls a loopback HTTP
/// server (Tests/Helpers/http_test_server.py) and answers the SIP request with what came
/// back. Each test stops the two processes it started.
@Suite(.serialized) struct HTTPClientTests {
    /// The config, with the HTTP server's port and a port nothing listens on filled in.
    static func config(http: UInt16, dead: UInt16, extra: String = "") -> String {
        """
        #!KAMAILIO
        listen=udp:127.0.0.1:PORT
        async_workers=1
        loadmodule "tm.so"
        loadmodule "tmx.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "async.so"
        loadmodule "http_client.so"
        modparam("http_client", "keep_connections", 1)
        modparam("http_client", "connection_timeout", 1)
        modparam("http_client", "httpcon", "web=>http://127.0.0.1:\(http)")
        modparam("http_client", "httpcon", "small=>http://127.0.0.1:\(http);maxdatasize=1000;timeout=10")
        modparam("http_client", "httpcon", "follow=>http://127.0.0.1:\(http);httpredirect=1")
        modparam("http_client", "httpcon", "dead=>http://127.0.0.1:\(dead)")
        modparam("http_client", "httpcon", "backup=>http://127.0.0.1:\(dead);failover=web")
        \(extra)
        request_route {
            if ($rU == "inline") {
                # Blocking in a SIP receiver works too (the manual's request shaper does it).
                $var(rc) = http_connect("web", "/ok", "$var(body)");
                sl_send_reply("200", "inline rc=$var(rc) body=$var(body)");
                exit;
            }
            async_task_route("HTTP");
        }
        route[HTTP] {
            $var(body) = "unset";
            switch ($rU) {
            case "post":
                $var(rc) = http_connect("web", "/echo", "application/json", "{\\"from\\": \\"$fU\\"}", "$var(body)");
                break;
            case "raw":
                $var(rc) = http_connect_raw("web", "/echo", "text/plain", "cost: $5", "$var(body)");
                break;
            case "query":
                $var(rc) = http_client_query("http://127.0.0.1:\(http)$hdr(X-Path)", "$var(body)");
                break;
            case "get":
                $var(rc) = http_client_get("http://127.0.0.1:\(http)/echo", "", "X-Token: abc", "$var(body)");
                break;
            default:
                $var(rc) = http_connect("$hdr(X-Con)", "$hdr(X-Path)", "$var(body)");
            }
            if ($var(rc) < 0) {
                t_reply("500", "failed rc=$var(rc) pid=$pp");
                exit;
            }
            if ($var(rc) < 100) {
                t_reply("503", "down rc=$var(rc) pid=$pp $curlerror($var(rc))");
                exit;
            }
            http_get_redirect("$hdr(X-Con)", "$var(last)");
            t_reply("200", "rc=$var(rc) len=$(var(body){s.len}) pid=$pp redirect=$curlredirect last=$var(last) body=$var(body)");
        }
        """
    }

    /// Starts the HTTP server and respite; `body` runs with both and a client, then both stop.
    static func withServers(
        extra: (UInt16) throws -> String = { _ in "" },
        _ body: (HTTPTestServer, ServerProcess, SIPTestClient) throws -> Void
    ) throws {
        let http = try HTTPTestServer()
        defer { http.stop() }
        let dead = try HTTPTestServer.closedPort()
        let server = try ServerProcess(config: config(http: http.port, dead: dead, extra: try extra(http.port)))
        defer { server.stop() }
        try body(http, server, try SIPTestClient(server: server.port))
    }

    static func ask(
        _ client: SIPTestClient, user: String = "task", con: String = "web", path: String,
        timeout: TimeInterval = 5
    ) -> SIPMessage? {
        client.exchange(
            client.request("MESSAGE", user: user, headers: ["X-Con: \(con)", "X-Path: \(path)"]), timeout: timeout)
    }

    /// The value of `key=` in a reason phrase (up to the next space; `body=` takes the rest).
    static func field(_ key: String, _ reason: String) -> String? {
        guard let r = reason.range(of: " \(key)=") ?? (reason.hasPrefix("\(key)=") ? reason.range(of: "\(key)=") : nil)
        else { return nil }
        let rest = reason[r.upperBound...]
        if key == "body" { return String(rest) }
        return String(rest.prefix { $0 != " " })
    }

    @Test func statusAndBodyReachTheScript() throws {
        try Self.withServers { http, server, client in
            let cases: [(path: String, rc: String, body: String)] = [
                ("/ok", "200", "hello"),
                ("/status/404", "404", "status 404"),
                // Kamailio keeps no body for a 5xx.
                ("/status/500", "500", ""),
                (
                    "/json", "200",
                    #"{"name": "respite", "limit": 5, "nested": {"list": [1, 2, {"deep": "yes"}]}, "flag": true}"#
                ),
            ]
            for c in cases {
                let reply = try #require(Self.ask(client, path: c.path), "\(c.path)\n\(server.log)")
                #expect(reply.statusCode == 200, "\(c.path): \(reply.reasonPhrase)")
                #expect(Self.field("rc", reply.reasonPhrase) == c.rc, "\(c.path): \(reply.reasonPhrase)")
                #expect(Self.field("body", reply.reasonPhrase) == c.body, "\(c.path): \(reply.reasonPhrase)")
                #expect(Self.field("last", reply.reasonPhrase) == http.url(c.path), "\(c.path): \(reply.reasonPhrase)")
            }
            let inline = try #require(client.exchange(client.request("MESSAGE", user: "inline")))
            #expect(inline.reasonPhrase == "inline rc=200 body=hello")
        }
    }

    @Test func aDeadOrSlowServiceGets503() throws {
        try Self.withServers { _, server, client in
            let refused = try #require(Self.ask(client, con: "dead", path: "/ok"), "\(server.log)")
            #expect(
                refused.statusCode == 503 && refused.reasonPhrase.hasPrefix("down rc=7 "), "\(refused.reasonPhrase)")
            #expect(refused.reasonPhrase.hasSuffix("Couldn't connect to server"), "\(refused.reasonPhrase)")
            // The failover connection answers instead of the dead one.
            let backup = try #require(Self.ask(client, con: "backup", path: "/ok"))
            #expect(
                Self.field("rc", backup.reasonPhrase) == "200" && Self.field("body", backup.reasonPhrase) == "hello",
                "\(backup.reasonPhrase)")
            // connection_timeout 1: the request gives up after a second.
            let start = Date()
            let slow = try #require(Self.ask(client, path: "/slow/3000"), "\(server.log)")
            let elapsed = Date().timeIntervalSince(start)
            #expect(slow.statusCode == 503 && slow.reasonPhrase.hasPrefix("down rc=28 "), "\(slow.reasonPhrase)")
            #expect(elapsed >= 0.9 && elapsed < 2.5, "gave up after \(elapsed) s")
            #expect(server.log.contains("WARNING: http_client [") && server.log.contains("(): http://127.0.0.1:"), "\(server.log)")
        }
    }

    /// A body past maxdatasize is cut to it (Kamailio's result) and never held whole: the
    /// worker's peak memory grows by far less than the 10 MB body.
    @Test func maxdatasizeBoundsTheBody() throws {
        try Self.withServers { _, server, client in
            let first = try #require(Self.ask(client, con: "small", path: "/ok"), "\(server.log)")
            let pid = try #require(Int32(Self.field("pid", first.reasonPhrase) ?? ""), "\(first.reasonPhrase)")
            let before = try #require(Self.peakMemoryKB(pid))
            let big = try #require(Self.ask(client, con: "small", path: "/big/10485760", timeout: 15), "\(server.log)")
            #expect(
                Self.field("rc", big.reasonPhrase) == "200" && Self.field("len", big.reasonPhrase) == "1000",
                "\(big.reasonPhrase.prefix(80))")
            #expect(Self.field("body", big.reasonPhrase) == String(repeating: "x", count: 1000))
            // 2 GB announced, 1 MB sent, then the server hangs up: curl's "partial file" (18).
            let huge = try #require(Self.ask(client, con: "small", path: "/huge-length", timeout: 15), "\(server.log)")
            #expect(huge.statusCode == 503 && huge.reasonPhrase.hasPrefix("down rc=18 "), "\(huge.reasonPhrase)")
            #expect(Self.field("pid", huge.reasonPhrase) == String(pid), "one task worker ran them all")
            let after = try #require(Self.peakMemoryKB(pid))
            #expect(after - before < 4 * 1024, "the worker's peak grew from \(before) kB to \(after) kB")
        }
    }

    @Test func redirectsFollowedOrNot() throws {
        try Self.withServers { http, _, client in
            let followed = try #require(Self.ask(client, con: "follow", path: "/redirect/2"))
            #expect(Self.field("rc", followed.reasonPhrase) == "200", "\(followed.reasonPhrase)")
            #expect(Self.field("body", followed.reasonPhrase) == "landed")
            #expect(
                Self.field("redirect", followed.reasonPhrase) == http.url("/redirect/0"), "\(followed.reasonPhrase)")
            #expect(Self.field("last", followed.reasonPhrase) == http.url("/redirect/0"), "\(followed.reasonPhrase)")
            // Not followed (Kamailio 5.6.3's default): the 302 itself, and where it points.
            let kept = try #require(Self.ask(client, path: "/redirect/2"))
            #expect(
                Self.field("rc", kept.reasonPhrase) == "302" && Self.field("body", kept.reasonPhrase) == "moved",
                "\(kept.reasonPhrase)")
            #expect(Self.field("redirect", kept.reasonPhrase) == http.url("/redirect/1"), "\(kept.reasonPhrase)")
            #expect(Self.field("last", kept.reasonPhrase) == http.url("/redirect/2"), "\(kept.reasonPhrase)")
            let none = try #require(Self.ask(client, path: "/ok"))
            #expect(Self.field("redirect", none.reasonPhrase) == "<null>", "\(none.reasonPhrase)")
        }
    }

    @Test func anUnknownConnectionFromAVariableIsFalseAtRunTime() throws {
        try Self.withServers { _, server, client in
            let reply = try #require(Self.ask(client, con: "nope", path: "/ok"))
            #expect(reply.statusCode == 500 && reply.reasonPhrase.hasPrefix("failed rc=-1"), "\(reply.reasonPhrase)")
            #expect(server.log.contains("no http_client connection named 'nope'"), "\(server.log)")
        }
    }

    @Test func postsQueriesAndHeaders() throws {
        try Self.withServers { _, server, client in
            let post = try #require(
                client.exchange(client.request("MESSAGE", user: "post"), timeout: 5), "\(server.log)")
            let echoed = try #require(Self.field("body", post.reasonPhrase))
            #expect(
                echoed.contains(#""method": "POST""#) && echoed.contains(#""Content-Type": "application/json""#),
                "\(echoed)")
            #expect(echoed.contains(#""body": "{\"from\": \"tester\"}""#), "\(echoed)")
            #expect(echoed.contains("\"User-Agent\": \"Respite (0.1.0)\""), "\(echoed)")
            let raw = try #require(client.exchange(client.request("MESSAGE", user: "raw"), timeout: 5))
            #expect(
                Self.field("body", raw.reasonPhrase)?.contains(#""body": "cost: $5""#) == true, "\(raw.reasonPhrase)")
            // query_result 1 (the default): the first line of the body.
            let query = try #require(Self.ask(client, user: "query", path: "/lines/3"))
            #expect(Self.field("body", query.reasonPhrase) == "line 1", "\(query.reasonPhrase)")
            let get = try #require(client.exchange(client.request("MESSAGE", user: "get"), timeout: 5))
            let got = try #require(Self.field("body", get.reasonPhrase))
            #expect(got.contains(#""method": "GET""#) && got.contains(#""X-Token": "abc""#), "\(got)")
        }
    }

    /// keep_connections 1: the task worker's handle keeps its connection from one task to
    /// the next (same client port); a connection of the connections file that sets
    /// keep_connections = 0 opens a new one each time.
    @Test func connectionsAreKeptAcrossTasks() throws {
        let dir = try Spawn.scratchDirectory("httpcon")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("connections.cfg")
        try Self.withServers(extra: { port in
            try "# one connection\n[fresh]\nurl = http://127.0.0.1:\(port)\nkeep_connections = no\n"
                .write(to: file, atomically: true, encoding: .utf8)
            return "modparam(\"http_client\", \"config_file\", \"\(file.path)\")"
        }) { _, server, client in
            func peer(_ con: String) throws -> String {
                let r = try #require(Self.ask(client, con: con, path: "/peer"), "\(server.log)")
                return try #require(Self.field("body", r.reasonPhrase), "\(r.reasonPhrase)")
            }
            let kept = try [peer("web"), peer("web"), peer("web")]
            #expect(Set(kept).count == 1, "\(kept)")
            let fresh = try [peer("fresh"), peer("fresh")]
            #expect(Set(fresh).count == 2, "\(fresh)")
        }
    }

    /// VmHWM of a process, in kB.
    static func peakMemoryKB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
    }
}
