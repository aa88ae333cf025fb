import Shared

/// One HTTP request being handled in `event_route[xhttp:request]` and its single reply.
/// The tcp receiver running the route makes it and hangs it on the message context
/// (`MessageContext.httpExchange`); module functions (xhttp_reply, and any other that
/// answers HTTP) call `reply`. The reply goes to the tcp main through "tcp-out" with the
/// request's connection id, like any SIP reply over TCP. Owned by that receiver; nothing of
/// it lives in the arena.
public final class XHTTPExchange {
    public let request: XHTTPRequest
    /// The connection the request came on.
    public let peer: SIPPeer
    unowned let process: ProcessContext
    /// The status sent, once a reply went out.
    public private(set) var sentStatus: Int?
    /// Close the connection once the reply is written (set_reply_close), besides what the
    /// request asks (`Connection: close`, HTTP/1.0 without keep-alive).
    public var closeAfterReply = false
    /// The reply asked the tcp main to close the connection after it.
    private(set) var closeRequested = false

    init(request: XHTTPRequest, peer: SIPPeer, process: ProcessContext) {
        self.request = request
        self.peer = peer
        self.process = process
    }

    /// Sends the reply: `HTTP/1.x status reason`, `Content-Type` (left out when empty),
    /// `Server` (server_header), `Content-Length`, `extraHeaders`, then `body` (not for
    /// HEAD). The version is the request's, as Kamailio answers. When the connection is to
    /// close after it, the reply says `Connection: close` and the tcp main closes once it
    /// has written it. At most one reply per request: false, logged, for a second one, a
    /// status outside 100...599, CR or LF in the reason or a header, or a closed connection.
    @discardableResult
    public func reply(status: Int, reason: String, contentType: String, body: [UInt8],
                      extraHeaders: [(String, String)] = []) -> Bool {
        guard sentStatus == nil else {
            process.log.error("xhttp", "a reply \(status) to \(request.method) \(request.url): \(sentStatus!) was sent already")
            return false
        }
        guard (100...599).contains(status) else {
            process.log.error("xhttp", "reply status \(status) is not between 100 and 599")
            return false
        }
        let texts = [reason, contentType] + extraHeaders.flatMap { [$0.0, $0.1] }
        guard !texts.contains(where: { $0.utf8.contains(0x0D) || $0.utf8.contains(0x0A) }) else {
            process.log.error("xhttp", "a reply reason or header holds CR or LF: not sent")
            return false
        }
        guard let tcp = process.tcp else { return false }
        let close = closeAfterReply || !request.keepsConnection
        var head = "\(request.version == "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1") \(status) \(reason)\r\n"
        if !contentType.isEmpty { head += "Content-Type: \(contentType)\r\n" }
        head += "Server: \(process.settings.serverHeader)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        if close {
            head += "Connection: close\r\n"
        } else if request.version == "HTTP/1.0" {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if request.method != "HEAD" { bytes += body }
        guard tcp.send(bytes, to: peer, log: process.log) else { return false }
        sentStatus = status
        process.count(.repliesOut)
        if close { requestClose() }
        return true
    }

    /// Asks the tcp main to close the connection once what waits on it is written (once).
    func requestClose() {
        guard !closeRequested, let tcp = process.tcp else { return }
        closeRequested = true
        _ = tcp.request(TCPEnvelope(.closeAfterOutput, peer: peer), log: process.log)
    }
}
