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
        var due = [UInt64](repeating: 0, count: 512)
        while true {
            if wheel.armed == 0 {
                _ = bell.wait(timeoutNanoseconds: 1_000_000_000) { wheel.armed > 0 }
                continue
            }
            Self.sleepUntilNextTick(UInt64(wheel.tickMs))
            while true {
                let n = wheel.expire(nowMs: cs_now_ms(), into: &due)
                for i in 0..<n { fireLink(at: due[i], of: wheel, fire) }
                if n < due.count { break }
            }
        }
    }

    /// One expired link: its transaction, with the timer's reference, goes to `fire`.
    private func fireLink(at offset: UInt64, of wheel: TimerWheelRef,
                          _ fire: (Transaction, TransactionTimer) -> Void) {
        let kind = wheel.link(at: offset).pointee.kind
        guard let timer = TransactionTimer(kind: kind), let raw = cs_tx_from_link(arena.header, offset, kind) else { return }
        let reference = TransactionReference(adopting: raw, table: self)
        fire(reference.transaction, timer)
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
