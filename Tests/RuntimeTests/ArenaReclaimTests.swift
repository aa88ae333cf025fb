import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A master killed with SIGKILL: its workers follow it, and the next server with the same
/// --shm-name takes the arena name back; a live server's arena is never taken.
@Suite(.serialized) struct ArenaReclaimTests {
    /// Every kind of process: receivers, tm's timer, a task worker, the second ring's
    /// timer and the millisecond timer.
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    async_workers=1
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "async.so"
    modparam("async", "ms_timer", 10)
    request_route {
        if ($rm == "OPTIONS") { sl_send_reply("200", "OK pid $pp"); exit; }
        if ($rU == "task") { async_task_route("TASK"); exit; }
        sl_send_reply("404", "no test");
    }
    route[TASK] {
        t_reply("200", "task pid $pp");
    }
    """

    static func uniqueName(_ tag: String) -> String {
        "/respite-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The process exists and has not exited (a zombie waiting for its parent has).
    static func isLive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    @Test func workersFollowAKilledMasterAndTheNextServerReclaimsItsArena() throws {
        let name = Self.uniqueName("reclaim")
        defer { shm_unlink(name) }
        do {
            let first = try ServerProcess(config: Self.config, children: 2, shmName: name)
            let children = try first.processes().map(\.pid).filter { $0 > 0 && $0 != first.pid }
            #expect(children.count >= 6, "2 receivers, timer, task worker, ring timer, ms timer: \(children)")
            kill(first.pid, SIGKILL)
            let gone = waitUntil(timeout: 2, interval: 0.02) {
                children.allSatisfy { !Self.isLive($0) } && first.groupMembers.isEmpty
            }
            let left = children.filter(Self.isLive)
            #expect(gone, "every worker exits within 2 s of the master's SIGKILL; still running: \(left)")
            #expect(first.stop(timeout: 0) == .signaled(SIGKILL))
            #expect(first.survivors.isEmpty, "no worker outlived the master: \(first.survivors)")
            #expect(FileManager.default.fileExists(atPath: "/dev/shm" + name), "the killed master left its arena")
        }

        let second = try ServerProcess(config: Self.config, children: 2, shmName: name)
        defer { second.stop() }
        #expect(second.log.contains("removed the arena \(name)"), "\(second.log)")
        let client = try SIPTestClient(server: second.port)
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200, "\(second.log)")
        let task = client.exchange(client.request("MESSAGE", user: "task"), timeout: 3)
        #expect(task?.statusCode == 200 && task?.reasonPhrase.hasPrefix("task pid") == true,
                "a task worker of the new server answers\n\(second.log)")
        let header = try #require(try Self.header(name))
        #expect(header["creatorPID"] as? Int == Int(second.pid))
        #expect(header["creatorStatus"] as? String == "running")
        #expect(second.stop() == .exited(0))
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + name), "arena unlinked at shutdown")
    }

    @Test func theArenaOfARunningServerIsLeftAlone() throws {
        let name = Self.uniqueName("live")
        defer { shm_unlink(name) }
        let first = try ServerProcess(config: basicConfig, children: 1, shmName: name)
        defer { first.stop() }
        let before = try Self.header(name)?["createdUnixSeconds"] as? Double

        var failure: ServerFailed?
        do {
            let second = try ServerProcess(config: basicConfig, children: 1, shmName: name, timeout: 5)
            second.stop()
        } catch let e as ServerFailed {
            failure = e
        }
        let log = try #require(failure, "a second server with the name of a live server's arena must not start").log
        #expect(log.contains("\(name) is in use: its creator, pid \(first.pid), is running"), "\(log)")
        #expect(!log.contains("File exists"), "\(log)")

        #expect(first.isRunning)
        let client = try SIPTestClient(server: first.port)
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200, "the first server keeps serving")
        let header = try #require(try Self.header(name), "the arena is still there")
        #expect(header["creatorPID"] as? Int == Int(first.pid))
        #expect(header["createdUnixSeconds"] as? Double == before, "the same arena, not a new one")
    }

    /// The master dies after forking its workers but before they ask for the parent-death
    /// signal (strace holds each worker's prctl for 2 s): no signal will come, so each
    /// worker must notice its new parent and leave on its own.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "needs strace"))
    func workersOfAMasterKilledBeforeTheirPrctlExitToo() throws {
        let name = Self.uniqueName("race")
        defer { shm_unlink(name) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-race-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("race.cfg"), log = dir.appendingPathComponent("server.log")
        try Self.config.replacingOccurrences(of: "PORT", with: String(try FreePort.udp()))
            .write(to: config, atomically: true, encoding: .utf8)
        let started = Date()
        let strace = try Spawn.start(
            "/usr/bin/strace",
            ["-f", "-qq", "-o", "/dev/null", "-e", "trace=prctl", "-e", "inject=prctl:delay_enter=2000000",
             Products.path("respite"), "-f", config.path, "-DD", "-E", "-n", "2", "--shm-name", name],
            stdoutPath: log.path, stderrPath: log.path)
        defer { strace.stop(timeout: 0) }
        let serverLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        // Every slot has its pid once the master has forked every worker.
        var table: [(pid: Int32, role: String)] = []
        let forked = try waitUntil(timeout: 10, interval: 0.02) {
            table = try Self.processTable(name)
            return table.count >= 7 && table.allSatisfy { $0.pid > 0 }
        }
        try #require(forked, "the master did not fork its workers: \(table)\n\(serverLog())")
        let master = try #require(table.first { $0.role == "main" }?.pid)
        let workers = table.map(\.pid).filter { $0 != master }
        kill(master, SIGKILL)
        let killedAt = Date().timeIntervalSince(started)
        let gone = waitUntil(timeout: 5, interval: 0.02) { workers.allSatisfy { !Self.isLive($0) } }
        #expect(gone, "still running: \(workers.filter(Self.isLive))\n\(serverLog())")
        if killedAt < 2 {
            // Killed inside the window: the parent check, not the signal, ended them.
            let noticed = serverLog().components(separatedBy: "the master (pid \(master)) is gone").count - 1
            #expect(noticed == workers.count, "\(serverLog())")
        }
    }

    /// Pid and role of each process table entry, from `respite-shm --json` (empty while
    /// the arena is not there yet).
    static func processTable(_ name: String) throws -> [(pid: Int32, role: String)] {
        let r = try Products.run("respite-shm", ["--shm-name", name, "--json"], timeout: 10)
        guard r.status == 0 || r.status == 3,
            let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
            let processes = object["processes"] as? [[String: Any]]
        else { return [] }
        return processes.map { (Int32($0["pid"] as? Int ?? 0), $0["role"] as? String ?? "") }
    }

    /// The header of `respite-shm --json`, nil when it cannot read the arena (exit 3, a
    /// problem found past the header, still prints it).
    static func header(_ name: String) throws -> [String: Any]? {
        let r = try Products.run("respite-shm", ["--shm-name", name, "--json"], timeout: 10)
        guard r.status == 0 || r.status == 3, let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        else { return nil }
        return object["header"] as? [String: Any]
    }
}
