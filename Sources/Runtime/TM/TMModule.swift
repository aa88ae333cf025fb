import SIP
import Script
import Shared

/// tm's and tmx's script functions and variables.
enum TMModule {
    /// `t_relay_to_udp` / `t_relay_to_tcp([host, port])`: t_relay over that transport (to
    /// the Request-URI or `$du` without arguments).
    static func relay(over transport: SIPTransport, _ args: CallArgs, _ ctx: inout ExecContext) -> Int {
        let host = args.count > 0 ? args.string(0, &ctx) : nil
        let port = args.count > 1 ? args.int(1, &ctx) : nil
        if args.count > 1 && port == nil {
            ctx.message.process.log.error("tm", "t_relay_to_\(transport.name): the port is not an integer")
            return -1
        }
        return ctx.message.relay(host: host, port: port, transport: transport, &ctx)
    }

    static var spec: ModuleSpec {
        var spec = specWithoutChecks
        spec.checkParams = TMSettings.checkParams
        return spec
    }

    private static var specWithoutChecks: ModuleSpec {
        ModuleSpec(name: "tm", params: TMSettings.params, functions: TMStateChecks.tmFunctions + TMSerialForking.functions + [
            FunctionSpec("t_newtran", allowedRoutes: [.request]) { ctx, _ in newTransaction(&ctx) },
            FunctionSpec("t_check_trans", allowedRoutes: [.request, .branch, .onreply, .reply]) { ctx, _ in checkTransaction(&ctx) },
            FunctionSpec("t_relay", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, args in
                let host = args.count > 0 ? args.string(0, &ctx) : nil
                let port = args.count > 1 ? args.int(1, &ctx) : nil
                return ctx.message.relay(host: host, port: port, &ctx)
            },
            FunctionSpec("t_relay_to_udp", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, args in
                relay(over: .udp, args, &ctx)
            },
            FunctionSpec("t_relay_to_tcp", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, args in
                relay(over: .tcp, args, &ctx)
            },
            // In a reply route (Kamailio allows it in both): the reply's transaction's
            // request is answered.
            FunctionSpec("t_reply", args: [.int, .string], allowedRoutes: [.request, .failure, .onreply, .reply],
                         fixup: SLModule.checkCode) { ctx, args in
                if !ctx.message.message.isRequest {
                    guard let code = SLModule.replyCode(args, &ctx) else { return -1 }
                    return ctx.message.replyToTransactionRequest(code, args.string(1, &ctx), function: "t_reply")
                }
                guard let tx = ctx.message.transaction ?? ctx.message.lookupTransaction() else {
                    ctx.message.process.log.error("tm", "t_reply: no transaction (call t_newtran first)")
                    return -1
                }
                guard let code = SLModule.replyCode(args, &ctx) else { return -1 }
                return ctx.message.sendStatefulReply(tx, code, args.string(1, &ctx)) ? 1 : -1
            },
            FunctionSpec("t_set_fr", args: [.int, .int], minArgs: 1) { ctx, args in
                let inv = args.int(0, &ctx), noninv = args.count > 1 ? args.int(1, &ctx) : nil
                let m = ctx.message
                if let inv, inv > 0 { m.tm.frInvTimeout = inv }
                if let noninv, noninv > 0 { m.tm.frTimeout = noninv }
                m.transaction?.withLock { locked in
                    if let inv, inv > 0 { locked.inviteTimeoutMs = inv }
                    if let noninv, noninv > 0 { locked.finalResponseTimeoutMs = noninv }
                }
                return 1
            },
            onRoute("t_on_failure", .failure),
            onRoute("t_on_reply", .onreply),
            onRoute("t_on_branch", .branch),
            TMBranchFailure.function,
            FunctionSpec("t_release", allowedRoutes: [.request, .failure]) { ctx, _ in
                guard let tx = ctx.message.transaction else { return -1 }
                let m = ctx.message
                tx.withLock { locked in
                    if let manager = m.process.tm { manager.finish(locked, m.process) } else { locked.finish() }
                }
                return 1
            },
        ], variables: [
            VariableClassSpec("T", nameRule: .required, validateName: { n in
                ["id_index", "id_label", "reply_code", "reply_reason", "branch_index"].contains(n) ? nil : "unknown $T(\(n))"
            }) { ctx, name in
                let m = ctx.message
                guard let tx = m.transaction else { return name.name == "reply_code" ? .int(0) : .null }
                switch name.name {
                case "id_index": return .int(Int(tx.id.index))
                case "id_label": return .int(Int(tx.id.label))
                case "reply_code": return .int(m.tm.failureReplyCode ?? tx.withLock { $0.uasStatus })
                default: return .null
                }
            },
            VariableClassSpec("T_reply_code") { ctx, _ in
                let m = ctx.message
                return .int(m.tm.failureReplyCode ?? m.transaction?.withLock { $0.uasStatus } ?? 0)
            },
        ])
    }

    /// `t_on_failure("R")` and its kin: arm a route on the transaction (or on the request
    /// until the transaction exists).
    /// Where Kamailio 5.6 lets them be used: t_on_failure and t_on_reply also in tm's
    /// onreply_route (re-arming for the next reply), t_on_branch not in a branch or reply
    /// route.
    static func onRoute(_ name: String, _ table: RouteTable) -> FunctionSpec {
        let allowed: RouteTypeSet = table == .branch ? [.request, .failure] : [.request, .failure, .branch, .onreply]
        return FunctionSpec(name, args: [.routeName(table, runsAs: nil)], allowedRoutes: allowed) { ctx, args in
            guard let route = args.route(0, &ctx) else { return -1 }
            let m = ctx.message
            switch table {
            case .failure: m.tm.onFailure = route
            case .onreply: m.tm.onReply = route
            default: m.tm.onBranch = route
            }
            m.transaction?.withLock { locked in
                switch table {
                case .failure: locked.failureRoute = route
                case .onreply: locked.replyRoute = route
                default: locked.branchRoute = route
                }
            }
            return 1
        }
    }

    /// t_newtran: creates the transaction and sends nothing. Kamailio 5.6.3 sends tm's
    /// automatic 100 from t_relay (and the async suspends), not from t_newtran: an
    /// INVITE the script then answers itself gets its final reply alone.
    static func newTransaction(_ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        if m.message.method == .ack {
            if let tx = m.lookupTransaction() {
                m.absorbAck(tx)
                return 0
            }
            return 1
        }
        m.tm.flagsForTransaction = ctx.flags
        guard let (tx, origin) = m.findOrCreateTransaction() else { return -1 }
        switch origin {
        case .retransmission:
            m.absorbRetransmission(tx)
            return 0
        case .created, .ours:
            return 1
        }
    }

    static func checkTransaction(_ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        if !m.message.isRequest {
            // A reply: whether its top Via names a branch of a live transaction of ours.
            guard let manager = m.process.tm, let id = TransactionManager.parseBranchID(m.message.topVia.branch ?? "") else { return -1 }
            return manager.table.lookup(id.id) != nil ? 1 : -1
        }
        switch m.message.method {
        case .cancel:
            return m.lookupTransaction() != nil ? 1 : -1
        case .ack:
            guard let tx = m.lookupTransaction() else { return -1 }
            m.absorbAck(tx)
            return 1
        default:
            guard let tx = m.lookupTransaction() else { return -1 }
            if m.tm.inTransactionRoute { return 1 }
            m.absorbRetransmission(tx)
            return 0
        }
    }
}
