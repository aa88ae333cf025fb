import CShared
import SIP
import Script
import Shared

/// What a suspended transaction runs when it is resumed.
enum ResumeTarget: Equatable {
    /// Nothing recorded (t_suspend: t_continue names the route).
    case none
    /// `route[index]` (async_route, async_task_route...).
    case route(Int)
    /// The rest of an action list (async_sleep).
    case action(ResumePoint)
}

/// The outcome of asking to suspend a request.
enum SuspendResult {
    case suspended(Tx)
    /// A retransmission of a request whose transaction exists: absorbed, nothing suspended.
    case absorbed
    case failed
}

extension MessageContext {
    /// Suspends this request's transaction, creating it if needed (SEMANTICS.md 3): the
    /// script state, flags and `target` are saved with it, its final-response timer
    /// (fr_timer, every method) starts, and an INVITE gets tm's 100 when it is new.
    func suspend(flags: UInt64, target: ResumeTarget, group: UInt32 = 0) -> SuspendResult {
        guard let tm = process.tm else { return .failed }
        flagsForTransaction = flags
        guard let (tx, origin) = findOrCreateTransaction() else { return .failed }
        if origin == .retransmission {
            absorbRetransmission(tx)
            return .absorbed
        }
        let created = origin == .created
        tx.lock()
        defer { tx.unlock() }
        if tx.has(CS_TX_REPLIED) || tx.has(CS_TX_CANCELED) || tx.has(CS_TX_SUSPENDED) { return .failed }
        var state = ScriptState(of: self)
        if !created, let stored = tx.loadState(tm.arena) {
            // The shared copy was taken when the transaction was created: R-URI and $du
            // changes made after an explicit t_newtran() are not part of it (as in tm).
            state.requestURI = stored.requestURI
            state.destinationURI = stored.destinationURI
        }
        guard tx.saveState(tm.arena, state) else {
            process.log.error("tm", "no shared memory to suspend \(message.callID)")
            return .failed
        }
        tx.raw.pointee.msg_flags = flags
        switch target {
        case .none: tx.raw.pointee.resume_kind = UInt32(CS_RESUME_NONE)
        case .route(let r):
            tx.raw.pointee.resume_kind = UInt32(CS_RESUME_ROUTE)
            tx.raw.pointee.resume_route = Int32(r)
        case .action(let p):
            tx.raw.pointee.resume_kind = UInt32(CS_RESUME_ACTION)
            tx.raw.pointee.resume_block = p.block
            tx.raw.pointee.resume_action = p.action
        }
        tx.raw.pointee.resume_group = group
        tx.set(CS_TX_SUSPENDED)
        cs_tx_count_suspended(tm.table.raw, 1)
        if created { sendAutoTrying(tx) }
        tm.arm(tx, &tx.raw.pointee.fr, afterMs: Int(tx.raw.pointee.fr_timeout_ms), kind: Int32(CS_TXT_FR))
        return .suspended(tx)
    }
}

extension MessageContext {
    /// Takes back a suspension that could not be handed on (a full task queue): the
    /// transaction is no longer suspended and its wait timer stops; the script goes on.
    func cancelSuspension(_ tx: Tx) {
        guard let tm = process.tm else { return }
        tx.withLock {
            guard tx.has(CS_TX_SUSPENDED) else { return }
            tx.clear(CS_TX_SUSPENDED)
            cs_tx_count_suspended(tm.table.raw, -1)
            tm.disarm(tx, &tx.raw.pointee.fr)
        }
    }
}

extension ProcessContext {
    /// Resumes a suspended transaction in this process (SEMANTICS.md 4): holds its reply
    /// lock for the whole route, runs it with failure-route rules on the request rebuilt
    /// from the shared copy, and answers 500 when the route leaves no reply and no branch.
    /// Returns false when there was nothing to resume (gone, answered, timed out,
    /// cancelled, not suspended): a normal outcome, counted.
    func resume(_ tx: Tx, target override: ResumeTarget? = nil, _ exec: inout ExecContext) -> Bool {
        guard let tm else { return false }
        tx.lock()
        defer { tx.unlock() }
        // (A transaction that timed out may be suspended again by its failure route: only the
        // current state counts.)
        guard tx.has(CS_TX_SUSPENDED), !tx.has(CS_TX_REPLIED), !tx.has(CS_TX_CANCELED) else {
            count(CS_PC_TASKS_FAILED)
            return false
        }
        tx.clear(CS_TX_SUSPENDED)
        cs_tx_count_suspended(tm.table.raw, -1)
        guard let context = MessageContext.forTransaction(tx, process: self) else { return false }
        defer { context.releaseTransactions() }
        let target: ResumeTarget
        if let override { target = override } else {
            switch Int32(tx.raw.pointee.resume_kind) {
            case Int32(CS_RESUME_ROUTE): target = .route(Int(tx.raw.pointee.resume_route))
            case Int32(CS_RESUME_ACTION):
                target = .action(ResumePoint(block: tx.raw.pointee.resume_block, action: tx.raw.pointee.resume_action))
            default: target = .none
            }
        }
        let savedHost = exec.host, savedFlags = exec.flags, savedType = exec.routeType
        exec.host = context
        exec.flags = tx.raw.pointee.msg_flags
        exec.routeType = .failure
        switch target {
        case .route(let r): _ = program.run(route: r, as: .failure, &exec)
        case .action(let p): _ = program.run(from: p, as: .failure, &exec)
        case .none: break
        }
        exec.host = savedHost
        exec.flags = savedFlags
        exec.routeType = savedType
        if !tx.has(CS_TX_REPLIED) && !tx.has(CS_TX_SUSPENDED) && tm.pendingBranches(tx) == 0 {
            context.sendStatefulReply(tx, 500, "I'm terribly sorry, server error occurred (1/TM)")
        }
        count(CS_PC_TASKS)
        return true
    }
}

/// tmx: the script's suspend and continue.
enum TMXModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "tmx", functions: [
            FunctionSpec("t_suspend", allowedRoutes: [.request, .failure]) { ctx, _ in
                switch ctx.message.suspend(flags: ctx.flags, target: .none) {
                case .suspended: return 1
                case .absorbed: return 0
                case .failed: return -1
                }
            },
            FunctionSpec("t_continue", args: [.int, .int, .routeName(.route, runsAs: .failure)]) { ctx, args in
                let p = ctx.message.process
                guard let tm = p.tm, let index = args.int(0, &ctx), let label = args.int(1, &ctx),
                      let route = args.route(2, &ctx) else { return -1 }
                guard index >= 0, label >= 0,
                      let raw = cs_tx_lookup_id(tm.arena.header, tm.table.raw, UInt32(truncatingIfNeeded: index),
                                                UInt32(truncatingIfNeeded: label)) else {
                    p.log.notice("tmx", "t_continue(\(index), \(label)): no such transaction (gone, or a stale label)")
                    return -1
                }
                let tx = Tx(raw: raw)
                defer { tm.unref(tx) }
                return p.resume(tx, target: .route(route), &ctx) ? 1 : -1
            },
        ])
    }
}
