import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Starting `respite` as a service: the daemonized start reports its outcome to the
/// process that was started, the command line's service options, the log formats.
@Suite(.serialized) struct DaemonStartTests {
    /// Logs to syslog (not standard error), so that the waiting parent's standard error
    /// carries the reasons the master sends it.
    static let syslogConfig = basicConfig.replacingOccurrences(of: "log_stderror=yes", with: "log_stderror=no")

    /// A scratch directory with the config (PORT replaced), for one daemon start.
    struct Daemon {
        let dir: URL
        let config: URL
        let pidFile: String
        let shmName = "/respite-daemon-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        init(config text: String, port: UInt16) throws {
            dir = try Spawn.scratchDirectory("daemon")
            config = dir.appendingPathComponent("respite.cfg")
            pidFile = dir.appendingPathComponent("respite.pid").path
            try text.replacingOccurrences(of: "PORT", with: String(port)).write(to: config, atomically: true, encoding: .utf8)
        }

        var arguments: [String] {
            ["-f", config.path, "-P", pidFile, "-n", "1", "-m", "16", "--shm-name", shmName,
             "-Y", dir.appendingPathComponent("run").path]
        }

        var pid: pid_t? {
            (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }

        /// Stops a master that is not this process's child: SIGTERM, then SIGKILL after 5 s
        /// (its workers die with it). Returns whether it ended on SIGTERM.
        @discardableResult
        func stop(_ pid: pid_t) -> Bool {
            guard Self.isAlive(pid) else { return true }
            kill(pid, SIGTERM)
            if (try? waitUntil(timeout: 5, { !Self.isAlive(pid) })) == true { return true }
            kill(pid, SIGKILL)
            _ = try? waitUntil(timeout: 2) { !Self.isAlive(pid) }
            return false
        }

        func cleanUp() {
            shm_unlink(shmName)
            try? FileManager.default.removeItem(at: dir)
        }

        /// A process exists and is not a zombie (a master whose new parent has not reaped it yet).
        static func isAlive(_ pid: pid_t) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
            return state != "Z" && state != "X"
        }
    }

    /// Binds UDP 127.0.0.1:`port` without SO_REUSEADDR, so that nobody else can.
    static func occupyUDP(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        sa.sin_port = port.bigEndian
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0 else {
            close(fd)
            throw Spawn.Failure("bind 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    @Test func daemonExitsNonZeroWithTheReasonWhenItsPortIsTaken() throws {
        let port = try FreePort.udp()
        let fd = try Self.occupyUDP(port)
        defer { close(fd) }
        let daemon = try Daemon(config: Self.syslogConfig, port: port)
        defer { daemon.cleanUp() }
        let r = try Products.run("respite", daemon.arguments, timeout: 30)
        if let pid = daemon.pid { daemon.stop(pid) }
        #expect(r.status != 0, "\(r.output)")
        #expect(r.stderr.contains("127.0.0.1:\(port)") && r.stderr.contains("Address already in use"), "\(r.stderr)")
        #expect(daemon.pid == nil, "no pid file after a failed start")
        #expect(shm_open(daemon.shmName, O_RDONLY, 0) < 0, "the arena was removed")
    }

    @Test func daemonExitsZeroOnceStartedWithThePidFileWrittenAndAnswers() throws {
        let port = try FreePort.server()
        let daemon = try Daemon(config: Self.syslogConfig, port: port)
        defer { daemon.cleanUp() }
        let r = try Products.run("respite", daemon.arguments, timeout: 30)
        let pid = daemon.pid
        defer { if let pid { daemon.stop(pid) } }
        #expect(r.status == 0, "\(r.output)")
        let master = try #require(pid, "pid file written before the parent exits")
        #expect(Daemon.isAlive(master))
        let client = try SIPTestClient(server: port)
        let reply = try #require(client.exchange(client.request("OPTIONS")), "no reply")
        #expect(reply.statusCode == 200)
        #expect(FileManager.default.fileExists(atPath: daemon.dir.appendingPathComponent("run").path), "-Y made")
        #expect(daemon.stop(master), "SIGTERM stops the master")
        #expect(daemon.pid == nil, "the pid file is removed at shutdown")
    }

    @Test func droppedPrivilegesAfterBinding() throws {
        guard geteuid() == 0 else { return } // changing the user needs root
        let run = try Spawn.scratchDirectory("run-as")
        defer { try? FileManager.default.removeItem(at: run) }
        let server = try ServerProcess(config: basicConfig, extraArgs: ["-u", "nobody", "-g", "nogroup", "-Y", run.path])
        defer { server.stop() }
        let status = try String(contentsOfFile: "/proc/\(server.pid)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }
        #expect(uid?.split(separator: "\t").dropFirst().allSatisfy { $0 == "65534" } == true, "\(uid ?? "")")
        let unknown = try Products.run("respite", ["-f", server.configURL.path, "-DD", "-u", "no-such-user-here"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no such user"), "\(unknown.output)")
    }

    @Test func cfgPrintShowsThePreprocessedConfig() throws {
        let dir = try Spawn.scratchDirectory("cfg-print")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "children=3\n".write(to: dir.appendingPathComponent("part.cfg"), atomically: true, encoding: .utf8)
        let main = dir.appendingPathComponent("main.cfg")
        try """
            #!KAMAILIO
            #!define GREETING "hi"
            #!ifdef WITH_DEBUG
            debug=3
            #!else
            debug=1
            #!endif
            include_file "part.cfg"
            request_route { exit; }

            """.write(to: main, atomically: true, encoding: .utf8)
        let plain = try Products.run("respite", ["--cfg-print", "-f", main.path])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.stdout == "#!KAMAILIO\n#!define GREETING \"hi\"\ndebug=1\nchildren=3\nrequest_route { exit; }\n",
                "\(plain.stdout)")
        let defined = try Products.run("respite", ["--cfg-print", "-A", "WITH_DEBUG", "-f", main.path])
        #expect(defined.stdout.contains("debug=3\n") && !defined.stdout.contains("debug=1"), "\(defined.stdout)")
        let missing = try Products.run("respite", ["--cfg-print", "-f", dir.appendingPathComponent("none.cfg").path])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read file"), "\(missing.output)")
    }

    @Test func versionLines() throws {
        for flag in ["-V", "-v", "--version"] {
            let r = try Products.run("respite", [flag])
            let lines = r.stdout.split(separator: "\n")
            #expect(r.status == 0)
            #expect(lines.first?.hasPrefix("version: respite 0.1.0 (") == true && lines.first?.hasSuffix("/linux)") == true, "\(r.stdout)")
            #expect(lines.contains { $0.hasPrefix("flags: ") && $0.contains("USE_TCP") }, "\(r.stdout)")
        }
    }

    @Test func logLinesHaveKamailiosShapeOrAreJSON() throws {
        let text = try ServerProcess(config: basicConfig, extraArgs: ["-ddd"])
        let textLog = text.log
        text.stop()
        let started = textLog.split(separator: "\n").first { $0.contains("worker processes started") }
        let line = try #require(started, "\(textLog)")
        #expect(line.hasPrefix(" 0(\(text.pid)) NOTICE: <core> [Runtime/WorkerStartup.swift:"), "\(line)")
        #expect(line.contains("]: awaitWorkersStarted(): all "), "\(line)")

        let json = try ServerProcess(config: basicConfig.replacingOccurrences(of: "debug=2", with: "debug=2\nlog_engine_type=\"json\""))
        let jsonLog = json.log
        json.stop()
        let objects = jsonLog.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!objects.isEmpty, "\(jsonLog)")
        for object in objects {
            let parsed = try JSONSerialization.jsonObject(with: Data(object.utf8)) as? [String: Any]
            #expect(parsed?["pid"] as? Int != nil && parsed?["level"] as? String != nil
                    && parsed?["message"] as? String != nil, "\(object)")
        }
        #expect(objects.contains { $0.contains("\"module\":\"core\"") && $0.contains("\"function\":\"awaitWorkersStarted\"") },
                "\(jsonLog)")
        let bad = try Products.run("respite", ["-c", "-f", json.configURL.path, "--log-engine", "xml"])
        #expect(bad.status != 0 && bad.stderr.contains("log engine 'xml'"), "\(bad.output)")
    }
}
