import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a process ended.
public enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// The shell's convention: the exit code, or 128 + the signal.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A process a test started (with `Spawn.start`), leader of its own process group.
///
/// The leader is reaped only by `stop()` or `waitUntilExit()`: until then an exited leader
/// stays a zombie, so its pid, which is also the group's id, cannot be reused and
/// signalling the group never reaches a stranger. `deinit` stops whatever is still running.
public final class ChildProcess {
    public let pid: pid_t
    /// How the leader ended, once it was reaped.
    public private(set) var termination: Termination?
    /// Group members still alive (zombies aside) when the leader exited, seen by `stop()`
    /// before it killed them: a process that outlived the leader.
    public private(set) var survivors: [pid_t] = []
    /// Removed when the process is released (files `Spawn` created for its output).
    let scratch: URL?

    init(pid: pid_t, scratch: URL? = nil) {
        self.pid = pid
        self.scratch = scratch
    }

    deinit {
        stop(timeout: 2)
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// Whether the leader has not exited yet (an exited leader is not reaped here).
    public var isRunning: Bool { termination == nil && !leaderExited() }

    /// Pids of the processes in the group, the leader and zombies excluded.
    public var groupMembers: [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { $0 != pid && getpgid($0) == pid && !Self.isZombie($0) }
    }

    /// Sends `signal` to the whole group (nothing once the leader was reaped).
    public func signalGroup(_ signal: Int32) {
        if termination == nil { kill(-pid, signal) }
    }

    /// Waits up to `timeout` seconds for the leader to exit by itself, then kills what is
    /// left of the group and reaps the leader. Returns how it ended, nil if it did not end
    /// in time (it is then still running).
    @discardableResult
    public func waitUntilExit(timeout: TimeInterval = .infinity) -> Termination? {
        if termination != nil { return termination }
        if timeout.isInfinite {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        } else if !waitUntil(timeout: timeout, { leaderExited() }) {
            return nil
        }
        reap()
        return termination
    }

    /// Stops the group: SIGTERM, then SIGKILL after `timeout` seconds; records the
    /// survivors, kills them, reaps the leader. Returns how the leader ended.
    @discardableResult
    public func stop(timeout: TimeInterval = 5) -> Termination? {
        if termination != nil { return termination }
        if !leaderExited() {
            kill(-pid, SIGTERM)
            if !waitUntil(timeout: timeout, { leaderExited() }) {
                kill(-pid, SIGKILL)
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
            }
        }
        reap()
        return termination
    }

    /// The leader has exited (and is left unreaped).
    private func leaderExited() -> Bool {
        var info = siginfo_t()
        let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        return r == 0 && info._sifields._sigchld.si_pid == pid
    }

    /// With the leader a zombie: notes and kills the rest of the group, then reaps it.
    private func reap() {
        survivors = groupMembers
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        termination = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        // "pid (comm) S ...": the state follows the command name.
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
