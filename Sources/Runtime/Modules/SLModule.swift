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
        FunctionSpec("sl_reply_error", allowedRoutes: [.request, .failure]) { ctx, _ in
            // Kamailio answers with the last internal error; without one, 500.
            guard ctx.message.sendReply(500, "Server Internal Error") else { return -1 }
            ctx.message.process.stats.count(.sentErrReplies)
            return 1
        },
    ])

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
