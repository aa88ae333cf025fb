import CShared
#if canImport(Glibc)
import Glibc
#endif

extension TransactionTable {
    /// Fires `wheel`'s timers for ever: the loop of tm's `timer` process and of the async
    /// timer processes. Asleep on the wheel's doorbell while nothing is armed (an idle
    /// server costs no CPU); otherwise wakes on every tick boundary of the monotonic clock
    /// and hands each due timer, with its transaction, to `fire`. The timer's reference
    /// is held while `fire` runs and dropped after it. Several processes may serve one
    /// wheel: each due link goes to exactly one.
    public func serveTimers(of which: TransactionWheel, _ fire: (Transaction, TransactionTimer) -> Void) -> Never {
        guard let wheel = wheels[which], let bell = bell(for: which) else {
            preconditionFailure("wheel '\(which.rawValue)' is not installed")
        }
        // Due links are taken off the wheel into this process's hold row, where the master
        // finds them if the process dies before firing them (or a private buffer when the
        // arena has no hold rows).
        let capacity = TransactionHoldRow.dueEntries
        let due = holds?.dueBuffer(servingWheelAt: arena.offset(of: wheel.raw))
            ?? UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        while true {
            if wheel.armed == 0 {
                _ = bell.wait(timeoutNanoseconds: 1_000_000_000) { wheel.armed > 0 }
                continue
            }
            Self.sleepUntilNextTick(UInt64(wheel.tickMs))
            while true {
                let n = Int(cs_wheel_expire(arena.header, wheel.raw, cs_now_ms(), due, UInt32(capacity)))
                for i in 0..<n { fireLink(due, i, fire) }
                if n < capacity { break }
            }
        }
    }

    /// Due link `i`: its transaction, with the timer's reference, goes to `fire`.
    private func fireLink(_ due: UnsafeMutablePointer<UInt64>, _ i: Int,
                          _ fire: (Transaction, TransactionTimer) -> Void) {
        let offset = due[i]
        let kind = (arena.base + Int(offset)).assumingMemoryBound(to: cs_timer_link.self).pointee.kind
        guard let timer = TransactionTimer(kind: kind), let raw = cs_tx_from_link(arena.header, offset, kind) else {
            due[i] = 0
            return
        }
        if let holds {
            let reference = TransactionReference(adoptingDue: i, raw, table: self, row: holds)
            fire(reference.transaction, timer)
        } else {
            let reference = TransactionReference(adopting: raw, table: self)
            fire(reference.transaction, timer)
        }
    }

    /// Sleeps until the next multiple of `tickMs` on the monotonic clock.
    static func sleepUntilNextTick(_ tickMs: UInt64) {
        let tickNs = tickMs * 1_000_000
        let next = (cs_now_ns() / tickNs + 1) * tickNs
        var target = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}

/// The monotonic clock every process and respite-shm agree on (CLOCK_MONOTONIC).
public enum MonotonicClock {
    public static var nowMs: UInt64 { cs_now_ms() }
    public static var nowNs: UInt64 { cs_now_ns() }
}
