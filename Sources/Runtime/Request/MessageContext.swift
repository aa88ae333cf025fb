import SIP
import Script
import Shared

/// One SIP message being handled: the `host` object of the script's `ExecContext`. Holds
/// the parsed message, what the script changed about it, and its tm and async state.
public final class MessageContext {
    public unowned let process: ProcessContext
    /// The message as the script now sees it: the received one, or what `msg_apply_changes`
    /// and `change_reply_status` made of it (MessageRewrite.swift).
    public internal(set) var message: SIPMessage {
        // A log prefix made lazily reads the message: it is made from the one it was set for.
        willSet { process.log.messagePrefix?.resolve() }
    }
    /// Who sent it, over which transport and connection, and on which of our sockets.
    public let peer: SIPPeer
    /// The listen socket it arrived on.
    public let socket: LocalSocket
    /// What the script changed (saved with the transaction when it has one).
    var edits = ScriptEdits()
    /// A final reply was sent for this request.
    public var replied = false
    /// The internal error the script's last failed function left (Kamailio's `ser_error`),
    /// with the action it failed in (`ExecContext.actionsStarted`).
    var internalError: (error: InternalError, action: UInt64)?
    /// tm's state for this message: its transaction and what the script set for it.
    var tm = RequestTM()
    /// In an async data task: `$async(data)`; in a tkv event: `$atkv(...)`.
    var async = RequestAsync()
    /// In `event_route[xhttp:request]`: the HTTP request and its reply (XHTTPExchange.swift).
    public var httpExchange: XHTTPExchange?
    /// What the last `jsonrpc_exec` answered (`$jsonrpl`).
    var jsonrpcReply: JSONRPCExecReply?
    /// kex's script flags (`setsflag`): they last while the script runs for this message.
    var scriptFlags: UInt64 = 0
    /// The reply sanity's last failed check prepared (sanity_reply sends it).
    var sanityReply: SanityChecks.Reply?
    /// set_reply_close(), set_reply_no_connect() (ReplyConnectionFunctions.swift).
    var replyConnection = ReplyConnectionFlags()
    /// The credentials an auth function accepted (consume_credentials removes them).
    var authorized: AuthorizedCredentials?

    public init(process: ProcessContext, message: SIPMessage, peer: SIPPeer) {
        self.process = process
        self.message = message
        self.peer = peer
        self.socket = process.sockets[peer.socketIndex < process.sockets.count ? peer.socketIndex : 0]
    }

    /// The sender's address.
    public var source: SocketAddress { peer.address }

    /// The Request-URI as the script now sees it.
    public var requestURI: String { edits.requestURI ?? message.requestURIString }

    /// The transaction of this request once tm found or created it.
    var transaction: Transaction? { tm.reference?.transaction }
}

/// What an async task hands the route it runs.
struct RequestAsync {
    /// `$async(data)` in a data task's route.
    var data: String?
    /// `$atkv(type|key|val)` in the tkv event route.
    var tkv: (type: Int, key: String, value: String)?
    /// The answer to an http_async_query(), in the route it runs.
    var http: HTTPAsyncResult?
}

extension ExecContext {
    /// The message context of the message being handled. Every function body of the
    /// runtime runs with one set (the receiver sets it before running a route).
    @inline(__always)
    var message: MessageContext { unsafeDowncast(host!, to: MessageContext.self) }
}
