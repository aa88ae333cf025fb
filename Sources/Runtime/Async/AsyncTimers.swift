import Script
import Shared

/// `ASYNC MOD TIMER`: the second ring. Sleeps while nothing waits on it; otherwise wakes
/// every tick and resumes, in this process, every transaction that has come due since its
/// last pass (several processes share the ring: each due entry goes to exactly one).
struct AsyncRingTimer {
    let process: ProcessContext
    let async: AsyncMachinery
    let table: TransactionTable
    var exec: ExecContext

    init(process: ProcessContext, async: AsyncMachinery, table: TransactionTable) {
        self.process = process
        self.async = async
        self.table = table
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        table.serveTimers(of: .secondRing) { tx, _ in
            // The lock taken here is the resume's too (recursive): no new wait can slip in
            // between the check and the resume.
            tx.withLock { locked in
                guard !locked.asyncWaitWasReplaced else { return }
                async.count(process.resume(tx, &exec) ? .resumed : .resumeMissed)
            }
        }
    }
}

/// `ASYNC MOD MS TIMER`: the millisecond wheel. Sleeps while nothing waits; otherwise
/// wakes on every `ms_timer` boundary of the monotonic clock and moves what is due to the
/// default group's queue, where a worker resumes it.
struct AsyncMsTimer {
    let process: ProcessContext
    let async: AsyncMachinery
    let table: TransactionTable
    let queue: TaskQueueRef

    func run() -> Never {
        ProcessSetup.setTimerSlack(nanoseconds: 1)
        // Waking on time matters more here than anywhere: ask the scheduler to prefer this
        // process (allowed for root; silently ignored otherwise).
        ProcessSetup.raisePriority(by: 10)
        table.serveTimers(of: .milliseconds) { tx, _ in forward(tx) }
    }

    /// A due sleeper becomes a resume task for the default group (the timer's reference to
    /// the transaction ends after this; the worker looks it up again by its name).
    func forward(_ tx: Transaction) {
        if tx.withLock({ $0.asyncWaitWasReplaced }) { return }
        switch queue.push(.resume(tx.id), arena: async.arena, nonblocking: true) {
        case .queued: break
        case .noMemory:
            process.log.error("async", "no shared memory to resume \(tx.id)")
        case .full:
            // Never block this process (every millisecond sleeper depends on it): when the
            // default group's queue is full, try again on the next tick.
            let tick = table.wheel(.milliseconds)?.tickMs ?? 1
            tx.withLock { $0.retryAsyncWait(afterMs: tick) }
        }
    }
}
