import CShared
#if canImport(Glibc)
import Glibc
#endif

/// Forking from a single-threaded master, and waiting for children.
///
/// A forked child of a multi-threaded process may only call async-signal-safe
/// functions, which Swift code cannot promise; so `child(_:)` refuses to fork when the
/// caller has more than one thread. Children leave with `_exit`, never `exit`, so the
/// parent's atexit handlers and stdio buffers are not run twice.
public enum Fork {
    /// Threads of the calling process (from /proc/self/task).
    public static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return -1 }
        defer { closedir(dir) }
        var n = 0
        while let e = readdir(dir) {
            if e.pointee.d_name.0 != UInt8(ascii: ".") { n += 1 }
        }
        return n
    }

    public struct MultiThreaded: Error, CustomStringConvertible {
        public let threads: Int
        public var description: String { "refusing to fork: the process has \(threads) threads" }
    }

    /// Forks a child that runs `body` and exits with its result.
    public static func child(_ body: () -> Int32) throws -> pid_t {
        let threads = threadCount()
        if threads != 1 { throw MultiThreaded(threads: threads) }
        fflush(nil)
        let pid = fork()
        if pid < 0 { throw SystemCallError("fork", errno: errno) }
        if pid == 0 {
            let status = body()
            // Hand back the blocks this process kept in its allocator cache, if any.
            cs_alloc_cache_detach()
            fflush(nil)
            _exit(status)
        }
        return pid
    }

    /// How a child ended.
    public enum Exit: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        /// Decodes a status from waitpid (which reports neither stopped nor continued
        /// children unless asked to).
        public init(status: Int32) {
            if status & 0x7f == 0 {
                self = .exited((status >> 8) & 0xff)
            } else {
                self = .signaled(status & 0x7f)
            }
        }

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "was killed by signal \(signal)"
            }
        }
    }

    /// Waits for `pid` to end.
    public static func wait(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        return Exit(status: status)
    }

    /// Collects one child that has ended, without waiting: its pid and how it ended, or
    /// nil when no child has ended (or there is none).
    public static func reapAny() -> (pid: pid_t, exit: Exit)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { return (pid, Exit(status: status)) }
            if pid < 0 && errno == EINTR { continue }
            return nil
        }
    }
}
