import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a process that sleeps in epoll when work is queued for it: an eventfd the master
/// creates before it forks, so every process has it. The Http Workers sleep on one beside
/// curl's sockets (rc_multi.h), the tcp main beside its connections, so new work and a
/// socket event wake them alike.
struct EventDoorbell: Sendable {
    let fd: Int32

    /// nil (with errno set) when the kernel refuses an eventfd.
    init?() {
        let fd = rc_eventfd()
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    /// Called after work is queued.
    func ring() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Called by the sleeper once it woke, before it looks at the queue (so a ring that comes
    /// after the look leaves the descriptor readable and the next poll returns at once).
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }
}
