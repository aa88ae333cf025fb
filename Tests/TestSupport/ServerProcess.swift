import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `respite` server started for one test: its own process group, port and arena name,
/// its log in a temporary file. The initializer returns once the server is ready (see
/// `Readiness`); `stop()` ends the whole group (SIGTERM, then SIGKILL).
public final class ServerProcess {
    /// When a server counts as ready. Neither waits a fixed time: each polls a condition
    /// every 20 ms until it holds, the server exits, or the start timeout passes.
    public enum Readiness: Sendable {
        /// Every process of the arena's process table has started, and a receiver answers
        /// `OPTIONS sip:ping@127.0.0.1` (any reply to a unique Call-ID). For configs where
        /// that request changes nothing the test looks at.
        case answersOptions
        /// Every process of the arena's process table has started (`respite-shm --json`):
        /// for configs that do not answer OPTIONS, or where a ping would be counted,
        /// relayed or logged where the test looks.
        case processesStarted
    }

    public let port: UInt16
    public let shmName: String
    /// The name was made up here (not given by the test), so `deinit` removes it.
    let ownsShmName: Bool
    public let logURL: URL
    public let configURL: URL
    let process: ChildProcess

    /// The master's pid (also the process group's id).
    public var pid: pid_t { process.pid }

    /// Writes `config` (with `PORT` replaced by a free port), starts
    /// `respite -f config -DD -E -n children --shm-name NAME extraArgs` and waits until it
    /// is ready; throws `ServerFailed` (with the log) if it exits or is not ready in time.
    /// NAME is unique unless `shmName` gives one; a given name is the test's to remove.
    public init(
        config: String, children: Int = 2, extraArgs: [String] = [], shmName: String? = nil,
        readiness: Readiness = .answersOptions, timeout: TimeInterval = 10, environment: [String: String] = [:]
    ) throws {
        port = try FreePort.server()
        ownsShmName = shmName == nil
        self.shmName = shmName ?? "/respite-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let dir = try Spawn.scratchDirectory("server")
        configURL = dir.appendingPathComponent("test.cfg")
        logURL = dir.appendingPathComponent("server.log")
        try config.replacingOccurrences(of: "PORT", with: String(port)).write(
            to: configURL, atomically: true, encoding: .utf8)
        let args =
            ["-f", configURL.path, "-DD", "-E", "-n", String(children), "--shm-name", self.shmName] + extraArgs
        // Variables for the server alone go through env(1), which execs it (same pid and group).
        let binary = Products.path("respite")
        let (path, argv) = environment.isEmpty ? (binary, args)
            : ("/usr/bin/env", environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [binary] + args)
        process = try Spawn.start(path, argv, stdoutPath: logURL.path, stderrPath: logURL.path)
        try awaitReady(readiness, timeout: timeout)
    }

    deinit {
        stop(timeout: 2)
        if ownsShmName { shm_unlink(shmName) }
        try? FileManager.default.removeItem(at: configURL.deletingLastPathComponent())
    }

    /// What the server has logged so far.
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Whether the master is still running (an exited master is not reaped until `stop()`).
    public var isRunning: Bool { process.isRunning }

    /// Pids of the processes still in the server's process group, the master aside.
    public var groupMembers: [pid_t] { process.groupMembers }

    /// Processes of the group still alive when the master exited (recorded by `stop()`
    /// before it kills them): a server that shut down cleanly leaves none.
    public var survivors: [pid_t] { process.survivors }

    /// Stops the server: SIGTERM to the group, SIGKILL after `timeout` seconds. Returns how
    /// the master ended.
    @discardableResult
    public func stop(timeout: TimeInterval = 5) -> Termination? {
        process.stop(timeout: timeout)
    }

    /// The arena's process table, as `respite-shm --json` shows it.
    public func processes() throws -> [ArenaProcess] {
        let r = try Spawn.run(Products.path("respite-shm"), ["--shm-name", shmName, "--json"], timeout: 10)
        guard r.status == 0 else { throw Spawn.Failure("respite-shm exited \(r.status): \(r.stderr)") }
        return try JSONDecoder().decode(ArenaSnapshot.self, from: Data(r.stdout.utf8)).processes ?? []
    }
}

/// One entry of the arena's process table (the fields of `respite-shm --json` the tests read).
public struct ArenaProcess: Decodable, Sendable {
    public let slot: Int
    public let pid: Int32
    /// Running and the pid exists.
    public let alive: Bool
    public let role: String
    /// "starting", "running" or "exited".
    public let state: String
    public let description: String
}

struct ArenaSnapshot: Decodable {
    struct Header: Decodable { let ready: Bool }
    let header: Header
    let processes: [ArenaProcess]?
}

/// The server exited while starting, or was not ready in time.
public struct ServerFailed: Error, CustomStringConvertible {
    public let reason: String
    public let log: String
    public var description: String { "respite did not start: \(reason)\n\(log)" }
}

/// What `respite-shm --json` says of a server's arena, for tests that check what it holds.
public struct ArenaSample {
    /// respite-shm's exit status (0 clean, 3 partial).
    public let status: Int32
    public let object: [String: Any]

    /// Bytes the server holds: used, less the freed blocks kept for reuse in the
    /// small-block bins and the process caches.
    public var heldBytes: Int {
        let a = object["allocator"] as? [String: Any] ?? [:]
        return (a["usedBytes"] as? Int ?? 0) - (a["binnedBytes"] as? Int ?? 0) - (a["cachedBytes"] as? Int ?? 0)
    }

    /// Transactions allocated and not yet freed.
    public var liveTransactions: Int { (object["transactions"] as? [String: Any])?["live"] as? Int ?? -1 }

    /// The process-table slots whose processes hold transaction references or taken timers now.
    public var holdingSlots: [Int] {
        ((object["holds"] as? [String: Any])?["held"] as? [[String: Any]] ?? []).compactMap { $0["slot"] as? Int }
    }

    /// References and taken timers the process of `slot` holds.
    public func held(bySlot slot: Int) -> Int {
        let rows = (object["holds"] as? [String: Any])?["held"] as? [[String: Any]] ?? []
        return rows.filter { $0["slot"] as? Int == slot }.reduce(0) {
            $0 + (($1["transactions"] as? [Any])?.count ?? 0) + ($1["takenTimers"] as? Int ?? 0)
        }
    }
}

extension ServerProcess {
    /// A sample of the arena as respite-shm reads it.
    public func arenaSample() throws -> ArenaSample {
        let r = try Spawn.run(Products.path("respite-shm"), ["--shm-name", shmName, "--json"], timeout: 10)
        let object = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
        return ArenaSample(status: r.status, object: object)
    }
}
