import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// Wakes the Http Workers when a query is queued: an eventfd the master creates before it
/// forks, so every process has it. A worker sleeps in epoll on it and on curl's sockets
/// (rc_multi.h), so a new query and a socket event wake it alike.
struct HTTPDoorbell: Sendable {
    let fd: Int32

    /// nil (with errno set) when the kernel refuses an eventfd.
    init?() {
        let fd = rc_eventfd()
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    /// Called after a query is queued.
    func ring() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Called by a worker that woke, before it looks at the queue (so a ring that comes
    /// after the look leaves the descriptor readable and the next poll returns at once).
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }
}
