import Script
import Shared

/// tm's branch failure handling: `t_on_branch_failure("X")` arms
/// `event_route[tm:branch-failure:X]`, which runs each time a branch of the transaction
/// ends with a negative final answer, before the transaction's failure handling decides
/// anything (docs/modules/tm.md#branch-failure-routes).
///
/// As Kamailio 5.6.3 does it (observed on loopback):
/// - the arm lives on the transaction (`LockedTransaction.branchFailureRoute`, in the
///   shared arena) and every branch copies it when it is created
///   (`TransactionBranch.branchFailureRoute`): two branches forked together both run it;
/// - running the route clears the transaction's arm, so a branch added afterwards (by
///   `t_relay` in the route itself or in the failure route) runs it only if
///   `t_on_branch_failure` armed it again;
/// - a reply >= 300 and tm's own 408 for a branch that timed out both run it;
/// - the route sees the transaction's request (`$rm`, `$ru`; `$rs` is null), with
///   `$T_reply_code` the branch's status, `$T_reply_reason` empty and `$T_branch_idx`
///   the branch's index;
/// - `t_relay()` there adds a branch, so the transaction is not finished and its failure
///   route waits for that branch; `drop` and `exit` only end the route;
/// - once the transaction has sent its final reply upstream, nothing runs.
///
/// Whichever process ends the branch runs the route while it holds the transaction's lock:
/// the receiver that got the reply, or the `timer` process for a timeout.
enum TMBranchFailure {
    /// The prefix Kamailio puts before the name given to `t_on_branch_failure`.
    static let routePrefix = "tm:branch-failure:"

    static var function: FunctionSpec {
        // Where Kamailio 5.6.3 accepts it: not in the core reply_route (event routes take
        // the request route's functions).
        FunctionSpec("t_on_branch_failure", args: [.string], allowedRoutes: [.request, .failure, .branch, .onreply]) { ctx, args in
            let name = args.string(0, &ctx)
            let m = ctx.message
            guard !name.isEmpty, let route = ctx.program.routeIndex(routePrefix + name, in: .event) else {
                m.process.log.error("tm", "t_on_branch_failure: no event_route[\(routePrefix)\(name)] in the config")
                return -1
            }
            m.tm.onBranchFailure = route
            m.transaction?.withLock { $0.branchFailureRoute = route }
            return 1
        }
    }
}

extension TransactionManager {
    /// Branch `b` of `tx` has just ended with the negative final `code` (a reply, or tm's
    /// 408 when `timedOut`): runs the branch's failure event route when one is armed.
    /// Returns whether the route added a branch (then the transaction is not finished).
    @discardableResult
    func branchFailed(_ tx: borrowing LockedTransaction, _ b: Int, code: Int, timedOut: Bool,
                      _ process: ProcessContext, _ exec: inout ExecContext) -> Bool {
        guard code >= 300, let route = tx.branch(b).branchFailureRoute, !tx.contains(.replied),
              let context = MessageContext.forTransaction(tx.transaction, process: process) else { return false }
        defer { context.releaseTransactions() }
        tx.branchFailureRoute = nil // armed once, as in tm: the route may arm it again
        context.tm.failureReplyCode = code
        context.tm.failureReplyReason = "" // Kamailio 5.6.3 gives no reason there
        context.tm.branchIndex = b
        context.tm.branchTimedOut = timedOut
        let before = tx.branchCount
        context.run(route: route, as: .event, &exec)
        return tx.branchCount > before
    }
}
