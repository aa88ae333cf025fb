import CShared
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// `ASYNC MOD TIMER`: the second ring. Sleeps while nothing waits on it; otherwise wakes
/// every tick and resumes, in this process, every transaction that has come due since its
/// last pass (several processes share the ring: each due entry goes to exactly one).
struct AsyncRingTimer {
    let process: ProcessContext
    let async: AsyncState
    let wheel: TimerWheelRef
    var exec: ExecContext

    init(process: ProcessContext, async: AsyncState) {
        self.process = process
        self.async = async
        self.wheel = async.ring!
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        AsyncClock.serve(wheel, bell: DoorbellRef(async.ringBell)) { fire($0) }
    }

    mutating func fire(_ offset: UInt64) {
        guard let tm = process.tm, let raw = cs_tx_from_link(tm.arena.header, offset, UInt32(CS_TXT_ASYNC)) else { return }
        let tx = Tx(raw: raw)
        defer { tm.unref(tx) }
        // The lock taken here is the resume's too (recursive): no new wait can slip in
        // between the check and the resume.
        tx.lock()
        defer { tx.unlock() }
        guard !AsyncClock.isStale(tx) else { return }
        async.count(process.resume(tx, &exec) ? .resumed : .resumeMissed)
    }
}

/// `ASYNC MOD MS TIMER`: the millisecond wheel. Sleeps while nothing waits; otherwise
/// wakes on every `ms_timer` boundary of the monotonic clock and moves what is due to the
/// default group's queue, where a worker resumes it.
struct AsyncMsTimer {
    let process: ProcessContext
    let async: AsyncState
    let wheel: TimerWheelRef
    let queue: TaskQueueRef

    mutating func run() -> Never {
        _ = cs_proc_set_timer_slack(1)
        // Waking on time matters more here than anywhere: ask the scheduler to prefer this
        // process (allowed for root; silently ignored otherwise).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
        AsyncClock.serve(wheel, bell: DoorbellRef(async.msBell)) { forward($0) }
    }

    /// A due sleeper becomes a resume task for the default group (the timer's reference to
    /// the transaction ends here; the worker looks it up again by its name).
    func forward(_ offset: UInt64) {
        guard let tm = process.tm, let raw = cs_tx_from_link(tm.arena.header, offset, UInt32(CS_TXT_ASYNC)) else { return }
        let tx = Tx(raw: raw)
        defer { tm.unref(tx) }
        if tx.withLock({ AsyncClock.isStale(tx) }) { return }
        guard let task = async.arena.newTask() else {
            process.log.error("async", "no shared memory to resume \(tx.index):\(tx.label)")
            return
        }
        task.pointee.kind = AsyncTaskKind.resume.rawValue
        task.pointee.words.0 = UInt64(tx.index)
        task.pointee.words.1 = UInt64(tx.label)
        // Never block this process (every millisecond sleeper depends on it): when the
        // default group's queue is full, try again on the next tick.
        if queue.push(task, nonblocking: true) == .full {
            async.arena.freeTask(task)
            tx.withLock {
                cs_tx_timer_arm(async.arena.header, wheel.raw, tx.raw, &tx.raw.pointee.async_wait,
                                cs_now_ms() + UInt64(wheel.tickMs), UInt32(CS_TXT_ASYNC))
            }
        }
    }
}

enum AsyncClock {
    /// A wait that fired after its transaction was given a later one (suspended again from
    /// its failure or resumed route): the newer wait is the one that counts. Lock held.
    static func isStale(_ tx: Tx) -> Bool {
        let due = tx.raw.pointee.resume_due_ms
        return due > cs_now_ms() && tx.raw.pointee.async_wait.slot != 0
    }

    /// The loop of an async timer process: asleep on `bell` while nothing is armed;
    /// otherwise every tick hands each due link's offset to `fire`.
    static func serve(_ wheel: TimerWheelRef, bell: DoorbellRef, _ fire: (UInt64) -> Void) -> Never {
        var due = [UInt64](repeating: 0, count: 512)
        while true {
            if wheel.armed == 0 {
                _ = bell.wait(timeoutNanoseconds: 1_000_000_000) { wheel.armed > 0 }
                continue
            }
            sleepUntilNextTick(UInt64(wheel.tickMs))
            while true {
                let n = wheel.expire(nowMs: cs_now_ms(), into: &due)
                for i in 0..<n { fire(due[i]) }
                if n < due.count { break }
            }
        }
    }

    /// Sleeps until the next multiple of `tickMs` on the monotonic clock.
    static func sleepUntilNextTick(_ tickMs: UInt64) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowNs = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        let tickNs = tickMs * 1_000_000
        let next = (nowNs / tickNs + 1) * tickNs
        var target = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}
