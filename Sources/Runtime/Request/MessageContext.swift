import SIP
import Script
import Shared

/// One SIP message being handled: the `host` object of the script's `ExecContext`. Holds
/// the parsed message and everything the script changed about it so far.
public final class MessageContext {
    public unowned let process: ProcessContext
    public let message: SIPMessage
    /// Who sent it, and on which of our sockets it arrived.
    public let source: SocketAddress
    public let socket: ListenSocket
    /// `$ru` (and `$rU`, `$rd`, `$rp`) after a script assignment; nil: unchanged.
    public var newRequestURI: String?
    /// `$du`: where to send instead of the Request-URI.
    public var destinationURI: String?
    /// `append_hf` additions, as whole header lines with CRLF.
    public var appendedHeaders: [String] = []
    /// `remove_hf` removals, by header name (lower-cased).
    public var removedHeaders: Set<String> = []
    /// `mf_process_maxfwd_header(n)` on a request without Max-Forwards: the value it gets
    /// when relayed.
    public var maxForwardsToAdd: Int?
    /// `$avp(name)`: newest value first.
    public var avps: [String: [Value]] = [:]
    /// `$xavp(name)`: records, newest first; each record a list of (field, value).
    public var xavps: [String: [[(String, Value)]]] = [:]
    /// A final reply was sent statelessly for this request.
    public var replied = false
    /// The transaction of this request once tm found or created it (a reference held).
    var transaction: Tx?
    /// References to other transactions (the INVITE a CANCEL or ACK refers to).
    var otherTransactions: [Tx] = []
    /// `t_set_fr` before the transaction exists (milliseconds).
    var frTimeout: Int?
    var frInvTimeout: Int?
    /// `t_on_failure` / `t_on_reply` / `t_on_branch` before the transaction exists.
    var onFailure: Int32 = -1
    var onReply: Int32 = -1
    var onBranch: Int32 = -1
    /// The script's message flags when the transaction was created or suspended.
    var flagsForTransaction: UInt64 = 0
    /// `$T_reply_code` in a failure route (the winning reply's status, 408 on timeout).
    var failureReplyCode: Int?
    /// In a failure route or a resumed route: a new branch was added by `t_relay`.
    var addedBranch = false
    /// The script runs for a transaction that already exists (a failure route, a resumed
    /// route): `t_relay` adds a branch instead of taking the request for a retransmission.
    var inTransactionRoute = false
    /// In an async data task: `$async(data)`.
    var asyncData: String?
    /// In a tkv event: `$atkv(type|key|val)`.
    var tkv: (type: Int, key: String, value: String)?

    public init(process: ProcessContext, message: SIPMessage, source: SocketAddress, socket: ListenSocket) {
        self.process = process
        self.message = message
        self.source = source
        self.socket = socket
    }

    /// The Request-URI as the script now sees it.
    public var requestURI: String { newRequestURI ?? message.requestURIString }
}

extension ExecContext {
    /// The message context of the message being handled. Every function body of the
    /// runtime runs with one set (the receiver sets it before running a route).
    @inline(__always)
    var message: MessageContext { unsafeDowncast(host!, to: MessageContext.self) }
}
