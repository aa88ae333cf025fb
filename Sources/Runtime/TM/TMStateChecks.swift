import Script
import Shared

/// tm's and tmx's questions about the transaction, as real configs ask them:
/// `t_is_set`, `t_is_canceled`, `t_any_timeout`/`t_any_replied`,
/// `t_branch_timeout`/`t_branch_replied`, `t_check_status`, `t_precheck_trans`,
/// `t_is_branch_route`/`t_is_failure_route`/`t_is_reply_route`, `$T_branch_idx`,
/// `$T_reply_reason`.
enum TMStateChecks {
    /// tm's.
    static var tmFunctions: [FunctionSpec] {
        [
            FunctionSpec("t_is_set", args: [.string], fixup: { fc in
                if let s = fc.staticString(0), !["failure_route", "branch_route", "onreply_route"].contains(s) {
                    fc.error("t_is_set takes failure_route, branch_route or onreply_route", argument: 0)
                }
            }) { ctx, args in
                let m = ctx.message
                let which = args.string(0, &ctx)
                let armed: Int? = m.transaction.flatMap { tx in
                    tx.withLock { locked in
                        switch which {
                        case "failure_route": return locked.failureRoute
                        case "branch_route": return locked.branchRoute
                        default: return locked.replyRoute
                        }
                    }
                } ?? {
                    switch which {
                    case "failure_route": return m.tm.onFailure
                    case "branch_route": return m.tm.onBranch
                    default: return m.tm.onReply
                    }
                }()
                return armed == nil ? -1 : 1
            },
            FunctionSpec("t_any_timeout") { ctx, _ in
                (ctx.message.transaction?.withLock { $0.contains(.timedOut) } ?? false) ? 1 : -1
            },
            FunctionSpec("t_any_replied") { ctx, _ in
                let replied = ctx.message.transaction?.withLock { locked in
                    (0..<locked.branchCount).contains { locked.branch($0).lastStatus > 0 }
                } ?? false
                return replied ? 1 : -1
            },
            // In a failure route or a branch failure route (event_route[tm:branch-failure:X]):
            // the failure came from fr_timer / fr_inv_timer.
            FunctionSpec("t_branch_timeout", allowedRoutes: [.failure, .event]) { ctx, _ in
                failedByTimeout(ctx.message) ? 1 : -1
            },
            // In a failure route or a branch failure route: the failure is a reply a branch
            // received.
            FunctionSpec("t_branch_replied", allowedRoutes: [.failure, .event]) { ctx, _ in
                let m = ctx.message
                return m.tm.failureReplyCode != nil && !failedByTimeout(m) ? 1 : -1
            },
            // The reply's status (or the transaction's) matches a regular expression.
            FunctionSpec("t_check_status", args: [.string]) { ctx, args in
                let m = ctx.message
                let status = m.message.isRequest ? (m.tm.failureReplyCode ?? m.transaction?.withLock { $0.uasStatus } ?? 0)
                    : m.message.statusCode
                guard status > 0, let regex = CompiledRegex(args.string(0, &ctx)) else { return -1 }
                return regex.matches(String(status)) ? 1 : -1
            },
        ]
    }

    /// tmx's.
    static var tmxFunctions: [FunctionSpec] {
        [
            // A transaction for this request exists already (Kamailio: is being created by
            // another process): the request is a retransmission for t_check_trans.
            FunctionSpec("t_precheck_trans", allowedRoutes: [.request]) { ctx, _ in
                let m = ctx.message
                guard m.message.method != .ack, m.message.method != .cancel else { return -1 }
                return m.process.tm != nil && m.lookupTransaction() != nil ? 1 : -1
            },
            FunctionSpec("t_is_canceled") { ctx, _ in
                (ctx.message.transaction?.withLock { $0.contains(.canceled) } ?? false) ? 1 : -1
            },
            FunctionSpec("t_is_branch_route") { ctx, _ in ctx.routeType == .branch ? 1 : -1 },
            FunctionSpec("t_is_failure_route") { ctx, _ in ctx.routeType == .failure ? 1 : -1 },
            FunctionSpec("t_is_reply_route") { ctx, _ in ctx.routeType == .onreply ? 1 : -1 },
        ]
    }

    static var tmxVariables: [VariableClassSpec] {
        [
            // The branch a branch_route or a branch failure route runs for (0 elsewhere).
            VariableClassSpec("T_branch_idx") { ctx, _ in .int(ctx.message.tm.branchIndex ?? 0) },
            VariableClassSpec("T_reply_reason") { ctx, _ in
                let m = ctx.message
                if !m.message.isRequest { return .string(m.message.reasonPhrase) }
                return m.tm.failureReplyReason.map { .string($0) } ?? .null
            },
        ]
    }

    static func failedByTimeout(_ m: MessageContext) -> Bool {
        m.tm.failureReplyCode == 408 && (m.tm.branchTimedOut || (m.transaction?.withLock { $0.contains(.timedOut) } ?? false))
    }
}
