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
    public enum Exit: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// Waits for `pid` to end.
    public static func wait(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(status & 0x7f)
    }
}
