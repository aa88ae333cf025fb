import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starting processes from a test: `posix_spawn`, so the test process never forks and
/// never runs Swift in a child; every child leads its own process group (which Foundation's
/// `Process` cannot arrange), so stopping it stops whatever it forked.
public enum Spawn {
    /// Why a process could not be started or did not do what was awaited.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Starts `path args` with standard input from /dev/null and standard output and error
    /// appended to the files given (one file may take both), in `directory` when given.
    public static func start(
        _ path: String, _ args: [String], stdoutPath: String, stderrPath: String,
        directory: String? = nil
    ) throws -> ChildProcess {
        ChildProcess(pid: try spawn(path, args, stdoutPath: stdoutPath, stderrPath: stderrPath, directory: directory))
    }

    /// Runs `path args` to completion in a scratch directory (tools such as SIPp leave files
    /// in their working directory), with its output in files, so a chatty child never
    /// blocks on a full pipe. After `timeout` seconds the whole group is killed.
    public static func run(_ path: String, _ args: [String], timeout: TimeInterval = 60) throws -> RunResult {
        let dir = try scratchDirectory("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        let child = try start(path, args, stdoutPath: out.path, stderrPath: err.path, directory: dir.path)
        var termination = child.waitUntilExit(timeout: timeout)
        let timedOut = termination == nil
        if timedOut { termination = child.stop(timeout: 0) }
        return RunResult(
            termination: termination ?? .signaled(SIGKILL), timedOut: timedOut,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Starts `path args` and waits (up to `timeout` seconds) for the first line it writes
    /// on standard output, for helpers that announce they are ready. The caller stops it.
    public static func startReadingFirstLine(_ path: String, _ args: [String], timeout: TimeInterval = 10) throws
        -> (process: ChildProcess, line: String)
    {
        let dir = try scratchDirectory("line")
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        let child = ChildProcess(
            pid: try spawn(path, args, stdoutPath: out.path, stderrPath: err.path, directory: nil),
            scratch: dir)
        var line: String?
        _ = waitUntil(timeout: timeout) {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if let end = text.firstIndex(of: "\n") { line = String(text[..<end]) }
            return line != nil || !child.isRunning
        }
        guard let line else {
            let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            throw Failure(
                "\(path) wrote no line in \(timeout) s (\(child.isRunning ? "still running" : "exited")): \(stderr)")
        }
        return (child, line)
    }

    public static func scratchDirectory(_ kind: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    private static func spawn(
        _ path: String, _ args: [String], stdoutPath: String, stderrPath: String,
        directory: String?
    ) throws -> pid_t {
        if let directory {
            // Glibc's posix_spawn_file_actions_addchdir_np is not visible from Swift: a
            // shell changes directory, then execs the command (same pid).
            return try spawn(
                "/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, path] + args,
                stdoutPath: stdoutPath, stderrPath: stderrPath, directory: nil)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if stderrPath == stdoutPath {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The test runner's threads block most signals, and a spawned process inherits
        // that mask: Kamailio's timers (SIGALRM) would never fire. Children start with
        // none blocked, as from a shell.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        if rc != 0 { throw Failure("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        return pid
    }
}

/// What a process run to completion did.
public struct RunResult: Sendable {
    public let termination: Termination
    /// It was killed after its timeout.
    public let timedOut: Bool
    public let stdout: String
    public let stderr: String

    /// The exit code, or 128 + the signal that ended it.
    public var status: Int32 { termination.shellStatus }
    /// Standard output then standard error, for messages and for tools that log to either.
    public var output: String { stdout + stderr }

    /// `key=value` pairs of the last stdout line (what the helpers print).
    public var values: [String: String] {
        let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
        var out: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }
}
