import CShared
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

    /// Suspends the request's transaction and hands it to what resumes it. Returns the
    /// module's `return` value, 0 for an absorbed retransmission, -1 when nothing was
    /// suspended.
    static func suspend(_ ctx: inout ExecContext, _ target: ResumeTarget, wait: Wait) -> Int {
        let m = ctx.message, p = m.process
        guard let async = p.async, p.tm != nil else { return -1 }
        var queue: TaskQueueRef?, nonblock = false
        var wheel: TimerWheelRef?, bell: UnsafeMutablePointer<cs_doorbell>?, delay = 0, wheelNumber: UInt32 = 0
        switch wait {
        case .queue(let name):
            guard let q = async.queues[name], let group = async.config.group(named: name) else {
                p.log.error("async", "no task group named '\(name)'")
                async.count(.refused)
                return -1
            }
            queue = q
            nonblock = group.nonblock
        case .ring(let ms):
            wheel = async.ring
            bell = async.ringBell
            delay = ms
            wheelNumber = AsyncState.ringWheelNumber
        case .ms(let ms):
            guard let w = async.ms else { return -1 }
            if w.armed >= async.config.msQueueMax {
                p.log.error("async", "\(async.config.msQueueMax) requests already sleep on the millisecond timer (ms_queue_max)")
                async.count(.refused)
                return -1
            }
            wheel = w
            bell = async.msBell
            delay = ms
            wheelNumber = AsyncState.msWheelNumber
        }
        switch m.suspend(flags: ctx.flags, target: target) {
        case .absorbed: return 0
        case .failed: return -1
        case .suspended(let tx):
            async.count(.suspended)
            if let wheel, let bell {
                // Rounded up to the next whole millisecond: the wheel fires an entry when the
                // millisecond clock reaches it, so a floor here would answer up to 1 ms early.
                let due = (cs_now_ns() + UInt64(delay) * 1_000_000 + 999_999) / 1_000_000
                tx.withLock {
                    // An earlier wait of this transaction (suspended again from its failure or
                    // resumed route) may still be armed, maybe in the other wheel: take it out
                    // of the wheel that holds it first.
                    if let old = async.wheel(number: tx.raw.pointee.async_wait_wheel), tx.raw.pointee.async_wait.slot != 0,
                       let tm = p.tm {
                        _ = cs_tx_timer_disarm(async.arena.header, old.raw, tm.table.raw, tx.raw, &tx.raw.pointee.async_wait)
                    }
                    tx.raw.pointee.resume_due_ms = due
                    tx.raw.pointee.async_wait_wheel = wheelNumber
                    cs_tx_timer_arm(async.arena.header, wheel.raw, tx.raw, &tx.raw.pointee.async_wait, due, UInt32(CS_TXT_ASYNC))
                }
                cs_doorbell_ring(bell, 1)
            } else if let queue {
                guard let task = async.arena.newTask() else {
                    m.cancelSuspension(tx)
                    async.count(.refused)
                    return -1
                }
                task.pointee.kind = AsyncTaskKind.resume.rawValue
                task.pointee.words.0 = UInt64(tx.index)
                task.pointee.words.1 = UInt64(tx.label)
                tx.withLock {
                    tx.raw.pointee.resume_group = UInt32(queue.raw.pointee.index)
                    tx.raw.pointee.resume_due_ms = 0
                }
                // In a failure or resumed route the transaction's lock is held: waiting for
                // room there could stall the only worker that would make room.
                if queue.push(task, nonblocking: nonblock || m.inTransactionRoute) == .full {
                    async.arena.freeTask(task)
                    m.cancelSuspension(tx)
                    p.log.error("async", "task group '\(queue.name)' is full (nonblock): nothing suspended")
                    async.count(.refused)
                    return -1
                }
            }
            return async.config.returnCode
        }
    }

    /// Queues a data task (no suspension). Returns 1, or -1 when nothing was queued.
    static func pushData(_ ctx: inout ExecContext, route: Int, group: String, data: String) -> Int {
        push(&ctx, group: group, kind: .data, first: UInt64(route), payload: Array(data.utf8))
    }

    /// Queues a tkv event for the tkv group.
    static func pushTkv(_ ctx: inout ExecContext, type: Int, key: String, value: String) -> Int {
        guard let group = ctx.message.process.async?.config.tkvGroup else { return -1 }
        var payload: [UInt8] = []
        withUnsafeBytes(of: UInt32(key.utf8.count).littleEndian) { payload.append(contentsOf: $0) }
        payload += Array(key.utf8) + Array(value.utf8)
        return push(&ctx, group: group, kind: .tkv, first: UInt64(bitPattern: Int64(type)), payload: payload)
    }

    static func push(_ ctx: inout ExecContext, group name: String, kind: AsyncTaskKind, first: UInt64, payload: [UInt8]) -> Int {
        let p = ctx.message.process
        guard let async = p.async, let queue = async.queues[name], let group = async.config.group(named: name) else {
            p.log.error("async", "no task group named '\(name)'")
            return -1
        }
        let arena = async.arena
        guard let task = arena.newTask() else {
            p.log.error("async", "no shared memory for a task")
            async.count(.refused)
            return -1
        }
        guard let block = arena.allocate(max(payload.count, 1)) else {
            arena.freeTask(task)
            p.log.error("async", "no shared memory for a task")
            async.count(.refused)
            return -1
        }
        payload.withUnsafeBytes { raw in if let b = raw.baseAddress { block.copyMemory(from: b, byteCount: raw.count) } }
        task.pointee.kind = kind.rawValue
        task.pointee.words.0 = first
        task.pointee.words.1 = arena.offset(of: block)
        task.pointee.words.2 = UInt64(payload.count)
        if queue.push(task, nonblocking: group.nonblock || ctx.message.inTransactionRoute) == .full {
            arena.free(block)
            arena.freeTask(task)
            p.log.error("async", "task group '\(name)' is full (nonblock)")
            async.count(.refused)
            return -1
        }
        async.count(.tasksPushed)
        return 1
    }
}
