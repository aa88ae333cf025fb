import SIP
import Script
import Shared

/// The outcome of asking to suspend a request.
enum SuspendResult {
    case suspended(Transaction)
    /// A retransmission of a request whose transaction exists: absorbed, nothing suspended.
    case absorbed
    case failed
}

extension ResumeTarget {
    /// The rest of an action list from a script resume point (async_sleep).
    init(_ point: ResumePoint) { self = .action(block: point.block, action: point.action) }
}

extension MessageContext {
    /// Suspends this request's transaction, creating it if needed (docs/async.md#suspending), in one
    /// step under its lock: the script's edits, `flags`, `target` and `wait` are saved with
    /// it, its final-response timer (fr_timer, every method) starts, and an INVITE gets
    /// tm's 100 when it is new.
    func suspend(flags: UInt64, target: ResumeTarget, wait: SuspendWait) -> SuspendResult {
        tm.flagsForTransaction = flags
        guard let (tx, origin) = findOrCreateTransaction() else { return .failed }
        if origin == .retransmission {
            absorbRetransmission(tx)
            return .absorbed
        }
        let outcome = tx.withLock { locked in
            var state = edits
            if origin != .created, let stored = locked.withBytes(.scriptState, ScriptEdits.init(decoding:)) {
                // The shared copy was taken when the transaction was created: R-URI and $du
                // changes made after an explicit t_newtran() are not part of it (as in tm).
                state.requestURI = stored.requestURI
                state.destinationURI = stored.destinationURI
            }
            return locked.suspend(target: target, wait: wait, messageFlags: flags, scriptState: state.encoded())
        }
        switch outcome {
        case .suspended: break
        case .answeredOrSuspended: return .failed
        case .noMemory:
            process.log.error("tm", "no shared memory to suspend \(message.callID)")
            return .failed
        }
        if origin == .created { sendAutoTrying(tx) }
        return .suspended(tx)
    }
}

extension ProcessContext {
    /// Resumes a suspended transaction in this process (docs/async.md#resuming): holds its reply
    /// lock for the whole route, runs it with failure-route rules on the request rebuilt
    /// from the shared copy, and answers 500 when the route leaves no reply and no branch.
    /// Returns false when there was nothing to resume (gone, answered, timed out,
    /// cancelled, not suspended): a normal outcome, counted.
    /// `prepare` gives the resumed request what its route reads beyond the request
    /// (http_async_client's answer).
    func resume(_ tx: Transaction, target override: ResumeTarget? = nil, _ exec: inout ExecContext,
                prepare: ((MessageContext) -> Void)? = nil) -> Bool {
        tx.withLock { locked in
            // (A transaction that timed out may be suspended again by its failure route: only the
            // current state counts.)
            guard locked.contains(.suspended), !locked.contains([.replied, .canceled]) else {
                count(.tasksFailed)
                return false
            }
            locked.endSuspension()
            guard let context = MessageContext.forTransaction(tx, process: self) else { return false }
            defer { context.releaseTransactions() }
            prepare?(context)
            let target = override ?? locked.resumeTarget
            let savedHost = exec.host, savedFlags = exec.flags, savedType = exec.routeType
            exec.host = context
            exec.flags = locked.messageFlags
            exec.routeType = .failure
            switch target {
            case .route(let r): _ = program.run(route: r, as: .failure, &exec)
            case .action(let block, let action): _ = program.run(from: ResumePoint(block: block, action: action), as: .failure, &exec)
            case .none: break
            }
            exec.host = savedHost
            exec.flags = savedFlags
            exec.routeType = savedType
            if !locked.contains([.replied, .suspended]) && locked.pendingBranches == 0 {
                if context.answerRelayError(tx) {
                    // The relay found no way to its destination: tm's own error reply.
                } else if context.replied {
                    // The route answered statelessly (sl_send_reply): the caller has its final
                    // reply, so no 500 follows it; the transaction ends as an unanswered one
                    // does after a request route.
                    locked.disarm(.finalResponse)
                    tm?.scheduleDeletion(locked)
                } else {
                    context.sendStatefulReply(tx, 500, "I'm terribly sorry, server error occurred (1/TM)")
                }
            }
            count(.tasks)
            return true
        }
    }
}

/// tmx: the script's suspend and continue.
enum TMXModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "tmx", functions: [
            FunctionSpec("t_suspend", allowedRoutes: [.request, .failure]) { ctx, _ in
                switch ctx.message.suspend(flags: ctx.flags, target: .none, wait: .none) {
                case .suspended: return 1
                case .absorbed: return 0
                case .failed: return -1
                }
            },
            FunctionSpec("t_continue", args: [.int, .int, .routeName(.route, runsAs: .failure)]) { ctx, args in
                let p = ctx.message.process
                guard let manager = p.tm, let index = args.int(0, &ctx), let label = args.int(1, &ctx),
                      let route = args.route(2, &ctx) else { return -1 }
                let id = TransactionID(index: UInt32(truncatingIfNeeded: index), label: UInt32(truncatingIfNeeded: label))
                guard index >= 0, label >= 0, let found = manager.table.lookup(id) else {
                    p.log.notice("tmx", "t_continue(\(index), \(label)): no such transaction (gone, or a stale label)")
                    return -1
                }
                return p.resume(found.transaction, target: .route(route), &ctx) ? 1 : -1
            },
        ] + TMStateChecks.tmxFunctions, variables: TMStateChecks.tmxVariables)
    }
}
