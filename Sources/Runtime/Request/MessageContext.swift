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
    public let socket: UDPSocket
    /// `$ru` (and `$rU`, `$rd`, `$rp`) after a script assignment; nil: unchanged.
    public var newRequestURI: String?
    /// `$du`: where to send instead of the Request-URI.
    public var destinationURI: String?
    /// `append_hf` additions, as whole header lines with CRLF.
    public var appendedHeaders: [String] = []
    /// `remove_hf` removals, by header name (lower-cased).
    public var removedHeaders: Set<String> = []
    /// `$avp(name)`: newest value first.
    public var avps: [String: [Value]] = [:]
    /// `$xavp(name)`: records, newest first; each record a list of (field, value).
    public var xavps: [String: [[(String, Value)]]] = [:]
    /// A final reply was sent statelessly for this request.
    public var replied = false

    public init(process: ProcessContext, message: SIPMessage, source: SocketAddress, socket: UDPSocket) {
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
