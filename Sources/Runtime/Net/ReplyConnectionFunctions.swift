import Script
import Shared

/// What the script asked of the connection a reply goes on: set_reply_close() and
/// set_reply_no_connect(). Kept on the message context, for the replies sent while it is
/// handled.
struct ReplyConnectionFlags {
    /// Close the connection once a final reply to this request is written.
    var close = false
    /// Never open a new connection to send a reply to this request.
    var noConnect = false
    /// set_forward_no_connect(): never open a new connection to relay this request
    /// (CoreURIFunctions.swift).
    var forwardNoConnect = false
}

/// The core functions `set_reply_close()` and `set_reply_no_connect()`. Over UDP they
/// change nothing (true, as in Kamailio).
enum ReplyConnectionFunctions {
    static func register(_ r: inout ScriptRegistry) {
        r.register(coreFunction: setReplyClose)
        r.register(coreFunction: setReplyNoConnect)
    }

    /// The connection closes after the final reply sent while this message is handled:
    /// sl_send_reply, t_reply from the route, xhttp_reply (an HTTP reply then says
    /// `Connection: close`). A reply relayed later from a branch does not close it.
    static let setReplyClose = FunctionSpec("set_reply_close") { ctx, _ in
        let m = ctx.message
        m.replyConnection.close = true
        m.httpExchange?.closeAfterReply = true
        return 1
    }

    /// Replies to this message never open a connection. Respite sends a reply to a request
    /// that came over TCP only on that request's connection (a reply to a closed one fails,
    /// logged), so this holds already; the flag is checked before each reply is sent.
    static let setReplyNoConnect = FunctionSpec("set_reply_no_connect") { ctx, _ in
        ctx.message.replyConnection.noConnect = true
        return 1
    }
}

extension MessageContext {
    /// After a final reply went to `peer`: asks the tcp main to close its connection once
    /// the reply is written, when set_reply_close() was called.
    func closeConnectionIfAsked(after peer: SIPPeer?) {
        guard replyConnection.close, let peer, peer.transport == .tcp, peer.connection != 0, let tcp = process.tcp else { return }
        _ = tcp.request(TCPEnvelope(.closeAfterOutput, peer: peer), log: process.log)
    }

    /// Whether a reply may go to `peer`: not when set_reply_no_connect() was called and the
    /// reply would need a new connection (logged).
    func replyMayConnect(_ peer: SIPPeer) -> Bool {
        guard replyConnection.noConnect, peer.transport.isReliable, peer.connection == 0 else { return true }
        process.log.notice("core", "reply to \(peer) not sent: set_reply_no_connect() and no connection to reuse")
        return false
    }
}
