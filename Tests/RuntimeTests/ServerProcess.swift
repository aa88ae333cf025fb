import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `respite` server started for one test: its own process group, port and arena name,
/// its log in a temporary file; `stop()` ends the whole group (SIGTERM, then SIGKILL).
final class ServerProcess {
    let pid: pid_t
    let port: UInt16
    let shmName: String
    let logURL: URL
    let configURL: URL
    private(set) var exitStatus: Int32?

    static var binaryDirectory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Writes `config` (with `PORT` replaced by a free port) and starts `respite -DD -E`.
    init(config: String, children: Int = 2, extraArgs: [String] = [], waitForReady: Bool = true) throws {
        port = try FreePort.udp()
        shmName = "/respite-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("test.cfg")
        logURL = dir.appendingPathComponent("server.log")
        try config.replacingOccurrences(of: "PORT", with: String(port)).write(to: configURL, atomically: true, encoding: .utf8)
        let args = ["-f", configURL.path, "-DD", "-E", "-n", String(children), "--shm-name", shmName] + extraArgs
        pid = try Spawn.start(ServerProcess.binaryDirectory.appendingPathComponent("respite").path, args,
                              stdoutPath: logURL.path, stderrPath: logURL.path, newProcessGroup: true)
        if waitForReady {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && !log.contains("starting:") && isRunning { usleep(20_000) }
            usleep(150_000) // the receivers are forked right after the line
            if !isRunning { throw ServerFailed(log: log) }
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { exitStatus = status; return false }
        return r == 0
    }

    /// Pids of the processes still in the server's process group.
    var groupMembers: [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { getpgid($0) == pid }
    }

    /// Stops the server: SIGTERM to the group, SIGKILL after `timeout` seconds.
    @discardableResult
    func stop(timeout: TimeInterval = 5) -> Int32? {
        if isRunning { kill(-pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(20_000) }
        if isRunning {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            exitStatus = status
        }
        // Anything left in the group (a worker that outlived the master) goes too.
        for member in groupMembers { kill(member, SIGKILL) }
        return exitStatus
    }

    deinit {
        stop(timeout: 2)
        shm_unlink(shmName)
        try? FileManager.default.removeItem(at: configURL.deletingLastPathComponent())
    }
}

struct ServerFailed: Error, CustomStringConvertible {
    let log: String
    var description: String { "respite did not start:\n\(log)" }
}

/// posix_spawn with redirections and an optional new process group (Foundation's
/// Process cannot put a child in its own group).
enum Spawn {
    static func start(_ path: String, _ args: [String], stdoutPath: String, stderrPath: String,
                      newProcessGroup: Bool, directory: String? = nil) throws -> pid_t {
        if let directory {
            // posix_spawn has no portable chdir: let a shell change directory, then exec.
            return try start("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, path] + args,
                             stdoutPath: stdoutPath, stderrPath: stderrPath, newProcessGroup: newProcessGroup)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newProcessGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        if rc != 0 { throw NSError(domain: "posix_spawn", code: Int(rc)) }
        return pid
    }

    /// Runs a command to completion and returns its status and combined output.
    /// Runs a command to completion in a scratch directory (tools such as SIPp leave files
    /// in their working directory) and returns its status and combined output.
    static func run(_ path: String, _ args: [String], timeout: TimeInterval = 30) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("output")
        let pid = try start(path, args, stdoutPath: out.path, stderrPath: out.path, newProcessGroup: true, directory: dir.path)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(-pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return (status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }
}

/// A UDP port that was free a moment ago.
enum FreePort {
    static func udp() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        sa.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        if !ok { throw NSError(domain: "bind", code: Int(errno)) }
        return UInt16(bigEndian: sa.sin_port)
    }
}
