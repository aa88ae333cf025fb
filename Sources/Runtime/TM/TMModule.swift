import CShared
import SIP
import Script
import Shared

/// tm's and tmx's script functions and variables.
enum TMModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "tm", params: TMSettings.params, functions: [
            FunctionSpec("t_newtran", allowedRoutes: [.request]) { ctx, _ in newTransaction(&ctx) },
            FunctionSpec("t_check_trans", allowedRoutes: [.request, .failure, .branch]) { ctx, _ in checkTransaction(&ctx) },
            FunctionSpec("t_relay", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, args in
                let host = args.count > 0 ? args.string(0, &ctx) : nil
                let port = args.count > 1 ? args.int(1, &ctx) : nil
                return ctx.message.relay(host: host, port: port, &ctx)
            },
            FunctionSpec("t_reply", args: [.int, .string], allowedRoutes: [.request, .failure], fixup: SLModule.checkCode) { ctx, args in
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
                if let inv, inv > 0 { m.frInvTimeout = inv }
                if let noninv, noninv > 0 { m.frTimeout = noninv }
                if let tx = m.transaction {
                    tx.withLock {
                        if let inv, inv > 0 { tx.raw.pointee.fr_inv_timeout_ms = UInt32(clamping: inv) }
                        if let noninv, noninv > 0 { tx.raw.pointee.fr_timeout_ms = UInt32(clamping: noninv) }
                    }
                }
                return 1
            },
            onRoute("t_on_failure", .failure),
            onRoute("t_on_reply", .onreply),
            onRoute("t_on_branch", .branch),
            FunctionSpec("t_release", allowedRoutes: [.request, .failure]) { ctx, _ in
                guard let tm = ctx.message.process.tm, let tx = ctx.message.transaction else { return -1 }
                tx.withLock { tm.finish(tx) }
                return 1
            },
        ], variables: [
            VariableClassSpec("T", nameRule: .required, validateName: { n in
                ["id_index", "id_label", "reply_code", "reply_reason", "branch_index"].contains(n) ? nil : "unknown $T(\(n))"
            }) { ctx, name in
                let m = ctx.message
                guard let tx = m.transaction else { return name.name == "reply_code" ? .int(0) : .null }
                switch name.name {
                case "id_index": return .int(Int(tx.index))
                case "id_label": return .int(Int(tx.label))
                case "reply_code": return .int(m.failureReplyCode ?? Int(tx.raw.pointee.uas_status))
                default: return .null
                }
            },
            VariableClassSpec("T_reply_code") { ctx, _ in
                let m = ctx.message
                return .int(m.failureReplyCode ?? Int(m.transaction?.raw.pointee.uas_status ?? 0))
            },
        ])
    }

    /// `t_on_failure("R")` and its kin: arm a route on the transaction (or on the request
    /// until the transaction exists).
    static func onRoute(_ name: String, _ table: RouteTable) -> FunctionSpec {
        FunctionSpec(name, args: [.routeName(table, runsAs: nil)], allowedRoutes: [.request, .failure, .branch]) { ctx, args in
            guard let route = args.route(0, &ctx) else { return -1 }
            let m = ctx.message, r = Int32(route)
            switch table {
            case .failure: m.onFailure = r
            case .onreply: m.onReply = r
            default: m.onBranch = r
            }
            if let tx = m.transaction {
                tx.withLock {
                    switch table {
                    case .failure: tx.raw.pointee.on_failure = r
                    case .onreply: tx.raw.pointee.on_reply = r
                    default: tx.raw.pointee.on_branch = r
                    }
                }
            }
            return 1
        }
    }

    static func newTransaction(_ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        if m.message.method == .ack {
            if let tx = m.lookupTransaction() {
                m.absorbAck(tx)
                return 0
            }
            return 1
        }
        m.flagsForTransaction = ctx.flags
        guard let (tx, origin) = m.findOrCreateTransaction() else { return -1 }
        switch origin {
        case .retransmission:
            m.absorbRetransmission(tx)
            return 0
        case .created:
            m.sendAutoTrying(tx)
            return 1
        case .ours:
            return 1
        }
    }

    static func checkTransaction(_ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        switch m.message.method {
        case .cancel:
            return m.lookupTransaction() != nil ? 1 : -1
        case .ack:
            guard let tx = m.lookupTransaction() else { return -1 }
            m.absorbAck(tx)
            return 1
        default:
            guard let tx = m.lookupTransaction() else { return -1 }
            if m.inTransactionRoute { return 1 }
            m.absorbRetransmission(tx)
            return 0
        }
    }
}
