import SIP
import Script
import Shared

/// sl: stateless replies.
enum SLModule {
    static let spec = ModuleSpec(name: "sl", functions: [
        FunctionSpec("sl_send_reply", args: [.int, .string], allowedRoutes: [.request, .failure],
                     fixup: checkCode) { ctx, args in
            reply(&ctx, args)
        },
        // send_reply: stateful when the request has a transaction (tm loaded and one
        // created or found), stateless otherwise. In a reply route it answers the request
        // of the reply's transaction, statefully, as Kamailio does in tm's onreply_route.
        FunctionSpec("send_reply", args: [.int, .string], allowedRoutes: [.request, .failure, .onreply, .reply],
                     fixup: checkCode) { ctx, args in
            guard let code = replyCode(args, &ctx) else { return -1 }
            let m = ctx.message
            guard m.message.isRequest else { return m.replyToTransactionRequest(code, args.string(1, &ctx), function: "send_reply") }
            if let tx = m.transaction { return m.sendStatefulReply(tx, code, args.string(1, &ctx)) ? 1 : -1 }
            return reply(&ctx, args)
        },
        // The reply names the internal error of the action just before (a t_relay or
        // forward that found no address: 478), or none: 500 (Kamailio 5.6.3's wording).
        FunctionSpec("sl_reply_error", allowedRoutes: [.request, .failure]) { ctx, _ in
            sendErrorReply(ctx.message, statefully: false, ctx)
        },
        // Beyond Kamailio 5.6.3 (which has no such function): sl_reply_error's reply, sent
        // statefully when the request has a transaction.
        FunctionSpec("send_reply_error", allowedRoutes: [.request, .failure]) { ctx, _ in
            sendErrorReply(ctx.message, statefully: true, ctx)
        },
    ])

    /// sl_reply_error / send_reply_error: the reply of the previous action's internal
    /// error, logged as Kamailio logs it; over the transaction when `statefully` and the
    /// request has one (then counted by tm, else in `sl:sent_err_replies`).
    static func sendErrorReply(_ m: MessageContext, statefully: Bool, _ exec: borrowing ExecContext) -> Int {
        let error = m.errorOfPreviousAction(exec)
        let code = error?.code ?? 500
        if statefully, let tx = m.transaction {
            let reason = error?.reason(by: "TM") ?? InternalError.unspecifiedReason(by: "TM")
            m.process.log.error("sl", "stateful error reply used: \(reason)")
            return m.sendStatefulReply(tx, code, reason) ? 1 : -1
        }
        let reason = error?.reason(by: "SL") ?? InternalError.unspecifiedReason(by: "SL")
        m.process.log.error("sl", "stateless error reply used: \(reason)")
        guard m.sendReply(code, reason) else { return -1 }
        m.process.stats.count(.sentErrReplies)
        return 1
    }

    static let checkCode: @Sendable (inout FixupContext) -> Void = { fc in
        if let code = fc.staticInt(0), !(100...699).contains(code) {
            fc.error("reply code \(code) is not between 100 and 699", argument: 0)
        }
    }

    /// The code argument of a reply function: an integer (or a string holding one) in
    /// 100...699; nil (logged) otherwise.
    static func replyCode(_ args: CallArgs, _ ctx: inout ExecContext) -> Int? {
        guard let code = args.int(0, &ctx) ?? Int(args.string(0, &ctx)), (100...699).contains(code) else {
            ctx.message.process.log.error("sl", "invalid reply code '\(args.string(0, &ctx))'")
            return nil
        }
        return code
    }

    static func reply(_ ctx: inout ExecContext, _ args: CallArgs) -> Int {
        guard let code = replyCode(args, &ctx) else { return -1 }
        return ctx.message.sendReply(code, args.string(1, &ctx)) ? 1 : -1
    }
}

extension MessageContext {
    /// Sends a reply to the request statelessly (RFC 3261 8.2.6) and counts it.
    @discardableResult
    public func sendReply(_ code: Int, _ reason: String, extraHeaders: [(name: String, value: String)] = []) -> Bool {
        guard message.isRequest else { return false }
        if message.method == .ack { return false } // never answer an ACK
        var headers = extraHeaders
        headers.append((name: "Server", value: process.settings.serverHeader))
        ReplyBuilder.reply(to: message, status: code, reason: reason, tagSeed: process.tagSeed,
                           extraHeaders: headers, into: &process.outBuffer)
        let ok = replyMayConnect(replyPeer) && process.send(process.outBuffer.bytes, to: replyPeer)
        if ok {
            process.count(.repliesOut)
            process.stats.statelessReplySent(status: code)
            if code >= 200 {
                replied = true
                closeConnectionIfAsked(after: replyPeer)
            }
        } else {
            process.stats.count(.failures)
            process.log.error("sl", "could not send reply \(code) to \(replyPeer)")
        }
        return ok
    }

    /// Where replies go and how: over a connection, back on the connection the request
    /// came on (RFC 3261 18.2.2; when it has closed, the send fails and is logged: the
    /// client that would read the reply is gone); over UDP to `replyDestination`.
    public var replyPeer: SIPPeer {
        guard !peer.transport.isReliable else { return peer }
        var out = peer
        out.address = replyDestination
        return out
    }

    /// Where UDP replies go (RFC 3261 18.2.2 with RFC 3581): the source address, at the
    /// source port when the top Via asks for rport (or the script called `force_rport()`),
    /// else at the Via's port.
    public var replyDestination: SocketAddress {
        let via = message.topVia
        if edits.forceRPort { return source }
        if case .absent = via.rport, let port = via.port {
            return source.withPort(UInt16(clamping: port))
        }
        if case .absent = via.rport { return source.withPort(5060) }
        return source
    }
}
