import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The async module over UDP: every function's reply, the process that resumed it, the
/// load-time errors, and the shared state a resumed route sees.
@Suite(.serialized) struct AsyncTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    async_workers=2
    async_workers_group="name=tkv;workers=1"
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "async.so"
    loadmodule "corex.so"
    loadmodule "htable.so"
    modparam("async", "ms_timer", 1)
    modparam("htable", "htable", "d=>size=4")
    request_route {
        $var(lost) = "set";
        $avp(kept) = "avp";
        setflag(3);
        if ($rU == "route") { async_route("RESUME", "1"); exit; }
        if ($rU == "task") { async_task_route("RESUME"); exit; }
        if ($rU == "group") { async_task_group_route("RESUME", "tkv"); exit; }
        if ($rU == "ms") { async_ms_route("RESUME", "100"); exit; }
        if ($rU == "dynamic") { async_task_route("RES$hdr(X-Tail)"); sl_send_reply("500", "dynamic refused"); exit; }
        if ($rU == "range") {
            if (!async_route("RESUME", "$(hdr(X-S){s.int})")) { sl_send_reply("500", "rejected"); }
            exit;
        }
        if ($rU == "string") {
            $var(s) = "2";
            if (!async_route("RESUME", "$var(s)")) { sl_send_reply("500", "string rejected"); }
            exit;
        }
        if ($rU == "sleep") {
            async_sleep("1");
            t_reply("200", "slept pid $pp");
            exit;
        }
        if ($rU == "silent") { async_task_route("SILENT"); exit; }
        if ($rU == "data") {
            async_task_data("DATA", "from $fU");
            async_tkv_emit("8000", "call", "v=$fU");
            sl_send_reply("200", "queued");
            exit;
        }
        if ($rU == "read") { sl_send_reply("200", "$sht(d=>data)|$sht(d=>tkv)"); exit; }
        sl_send_reply("404", "no test");
    }
    route[RESUME] {
        if (isflagset(3)) { $var(f) = "flag"; } else { $var(f) = "noflag"; }
        t_reply("200", "resumed pid $pp avp=$avp(kept) var=$var(lost) $var(f)");
    }
    route[SILENT] {
        xinfo("resumed and said nothing\\n");
    }
    route[DATA] {
        $sht(d=>data) = $async(data) + " in " + $async(gname);
    }
    event_route[core:tkv] {
        $sht(d=>tkv) = $atkv(key) + " " + $atkv(val) + " in " + $atkv(gname);
    }
    """

    /// pid -> process description, from respite-shm.
    static func roles(_ server: ServerProcess) throws -> [Int: String] {
        Dictionary(try server.processes().map { (Int($0.pid), $0.description) }, uniquingKeysWith: { first, _ in first })
    }

    static func pid(in reason: String) -> Int {
        let words = reason.split(separator: " ")
        guard let i = words.firstIndex(of: "pid"), i + 1 < words.count else { return 0 }
        return Int(words[i + 1]) ?? 0
    }

    @Test func eachFunctionResumesInTheRightProcess() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let cases: [(user: String, role: String, atLeast: Double, atMost: Double)] = [
            ("route", "ASYNC MOD TIMER", 0.0, 2.0),
            ("task", "Async Task Worker - default", 0, 1),
            ("group", "Async Task Worker - tkv", 0, 1),
            ("ms", "Async Task Worker - default", 0.1, 1),
            ("sleep", "ASYNC MOD TIMER", 0.0, 2.0),
        ]
        let roles = try Self.roles(server)
        for c in cases {
            let start = Date()
            let reply = try #require(client.exchange(client.request("MESSAGE", user: c.user), timeout: 3), "\(c.user)\n\(server.log)")
            let elapsed = Date().timeIntervalSince(start)
            #expect(reply.statusCode == 200, "\(c.user): \(reply.reasonPhrase)")
            #expect(elapsed >= c.atLeast && elapsed <= c.atMost, "\(c.user) answered after \(elapsed) s")
            #expect(roles[Self.pid(in: reply.reasonPhrase)] == c.role, "\(c.user) resumed in \(reply.reasonPhrase)")
            if c.user != "sleep" {
                #expect(reply.reasonPhrase.hasSuffix("avp=avp var=<null> flag"), "\(c.user): \(reply.reasonPhrase)")
            }
        }
        // An INVITE gets tm's 100 at once, then the resumed reply.
        client.send(client.request("INVITE", user: "task"))
        #expect(client.receive(timeout: 1)?.statusCode == 100)
        #expect(client.receive(timeout: 2)?.statusCode == 200)
    }

    @Test func badValuesAndFullGroupsReturnFalseWithNothingSuspended() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        for (value, want) in [("0", "500 rejected"), ("101", "500 rejected"), ("-1", "500 rejected")] {
            let r = try #require(client.exchange(client.request("MESSAGE", user: "range", headers: ["X-S: \(value)"])))
            #expect("\(r.statusCode) \(r.reasonPhrase)" == want, "seconds \(value)")
        }
        #expect(client.exchange(client.request("MESSAGE", user: "string"))?.reasonPhrase == "string rejected")
        #expect(client.exchange(client.request("MESSAGE", user: "dynamic", headers: ["X-Tail: NOPE"]))?.reasonPhrase == "dynamic refused")
        let ok = try #require(client.exchange(client.request("MESSAGE", user: "dynamic", headers: ["X-Tail: UME"])))
        #expect(ok.reasonPhrase.hasPrefix("resumed"), "a dynamic name that exists works")
        // A resume route that sends nothing: 500 from tm.
        let silent = try #require(client.exchange(client.request("MESSAGE", user: "silent")))
        #expect(silent.statusCode == 500 && silent.reasonPhrase == "I'm terribly sorry, server error occurred (1/TM)")
        let dump = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName])
        #expect(dump.output.contains("async  second ring"), "\(dump.output)")
    }

    @Test func dataTasksAndTkvEventsRunInWorkers() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(client.exchange(client.request("MESSAGE", user: "data"))?.reasonPhrase == "queued")
        usleep(300_000)
        let read = try #require(client.exchange(client.request("MESSAGE", user: "read")))
        #expect(read.reasonPhrase == "from tester in default|call v=tester in tkv", "\(read.reasonPhrase)")
    }

    @Test func configsWhoseMachineryIsOffAreRejectedAtLoad() throws {
        let respite = Products.path("respite")
        let base = "#!KAMAILIO\nloadmodule \"tm.so\"\nloadmodule \"sl.so\"\nloadmodule \"async.so\"\n"
        let cases: [(String, String)] = [
            ("request_route {\n  async_ms_sleep(\"10\");\n  exit;\n}\nroute[R] { exit; }\n", "ms_timer"),
            ("request_route {\n  async_task_route(\"R\");\n}\nroute[R] { exit; }\n", "async_workers"),
            ("async_workers=1\nrequest_route {\n  async_task_group_route(\"R\", \"nope\");\n}\nroute[R] { exit; }\n", "no task group named 'nope'"),
            ("request_route {\n  async_route(\"NOPE\", \"1\");\n}\n", "NOPE"),
            ("request_route {\n  async_sleep(\"1\");\n}\n", "async_sleep"),
            ("request_route {\n  async_route(\"R\", \"abc\");\n}\nroute[R] { exit; }\n", "abc"),
            ("async_workers_group=\"name=x;workers=1;colour=red\"\nrequest_route { exit; }\n", "colour"),
            ("async_workers=1\nmodparam(\"async\", \"mode\", 1)\nrequest_route {\n  async_task_route(\"R\");\n}\nroute[R] { exit; }\n", "mode"),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-async-c-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, (body, needle)) in cases.enumerated() {
            let file = dir.appendingPathComponent("case\(i).cfg")
            try (base + body).write(to: file, atomically: true, encoding: .utf8)
            let r = try Spawn.run(respite, ["-c", "-f", file.path])
            #expect(r.status == 1, "case \(i) must be rejected:\n\(r.output)")
            #expect(r.output.contains("case\(i).cfg:") && r.output.contains(needle), "case \(i):\n\(r.output)")
        }
    }
}
