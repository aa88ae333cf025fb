import SIP
import Script
import Shared

/// What the async functions do when called.
extension AsyncModule {
    enum Wait {
        /// The second ring, this many milliseconds from now.
        case ring(Int)
        /// The millisecond wheel.
        case ms(Int)
        /// A task group's queue, now.
        case queue(String)
    }

    /// Suspends the request's transaction and hands it to what resumes it: async chooses
    /// the wait, tm suspends (one step under the transaction's lock), and a task group's
    /// wait then gets its resume task. Returns the module's `return` value, 0 for an
    /// absorbed retransmission, -1 when nothing was suspended.
    static func suspend(_ ctx: inout ExecContext, _ target: ResumeTarget, wait: Wait) -> Int {
        let m = ctx.message, p = m.process
        guard let async = p.async, let manager = p.tm else { return -1 }
        let suspendWait: SuspendWait
        var queue: (ref: TaskQueueRef, nonblock: Bool)?
        switch wait {
        case .queue(let name):
            guard let q = async.queues[name], let group = async.config.group(named: name) else {
                p.log.error("async", "no task group named '\(name)'")
                async.count(.refused)
                return -1
            }
            queue = (q, group.nonblock)
            suspendWait = .taskGroup(index: q.index)
        case .ring(let ms):
            suspendWait = .secondRing(dueMs: dueMs(afterMs: ms))
        case .ms(let ms):
            guard let wheel = manager.table.wheel(.milliseconds) else { return -1 }
            if wheel.armed >= async.config.msQueueMax {
                p.log.error("async", "\(async.config.msQueueMax) requests already sleep on the millisecond timer (ms_queue_max)")
                async.count(.refused)
                return -1
            }
            suspendWait = .milliseconds(dueMs: dueMs(afterMs: ms))
        }
        switch m.suspend(flags: ctx.flags, target: target, wait: suspendWait) {
        case .absorbed: return 0
        case .failed: return -1
        case .suspended(let tx):
            async.count(.suspended)
            if let queue {
                // In a failure or resumed route the transaction's lock is held: waiting for
                // room there could stall the only worker that would make room.
                let nonblocking = queue.nonblock || m.tm.inTransactionRoute
                let outcome = queue.ref.push(.resume(tx.id), arena: async.arena, nonblocking: nonblocking)
                if outcome != .queued {
                    tx.withLock { $0.cancelSuspension() }
                    if outcome == .full { p.log.error("async", "task group '\(queue.ref.name)' is full (nonblock): nothing suspended") }
                    async.count(.refused)
                    return -1
                }
            }
            return async.config.returnCode
        }
    }

    /// `afterMs` from now, rounded up to the next whole millisecond: the wheels fire an
    /// entry when the millisecond clock reaches it, so a floor would answer up to 1 ms early.
    static func dueMs(afterMs: Int) -> UInt64 {
        (MonotonicClock.nowNs + UInt64(afterMs) * 1_000_000 + 999_999) / 1_000_000
    }

    /// Queues a data task (no suspension). Returns 1, or -1 when nothing was queued.
    static func pushData(_ ctx: inout ExecContext, route: Int, group: String, data: String) -> Int {
        push(&ctx, group: group, .data(route: route, data: Array(data.utf8)))
    }

    /// Queues a tkv event for the tkv group.
    static func pushTkv(_ ctx: inout ExecContext, type: Int, key: String, value: String) -> Int {
        guard let group = ctx.message.process.async?.config.tkvGroup else { return -1 }
        return push(&ctx, group: group, .tkv(type: type, key: key, value: value))
    }

    static func push(_ ctx: inout ExecContext, group name: String, _ task: AsyncTask) -> Int {
        let p = ctx.message.process
        guard let async = p.async, let queue = async.queues[name], let group = async.config.group(named: name) else {
            p.log.error("async", "no task group named '\(name)'")
            return -1
        }
        switch queue.push(task, arena: async.arena, nonblocking: group.nonblock || ctx.message.tm.inTransactionRoute) {
        case .queued:
            async.count(.tasksPushed)
            return 1
        case .full:
            p.log.error("async", "task group '\(name)' is full (nonblock)")
        case .noMemory:
            p.log.error("async", "no shared memory for a task")
        }
        async.count(.refused)
        return -1
    }
}
