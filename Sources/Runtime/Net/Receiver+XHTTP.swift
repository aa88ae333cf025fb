import SIP
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A tcp receiver's part of xhttp: an HTTP request the tcp main framed runs
/// `event_route[xhttp:request]` on a local message context whose `$si`, `$sp`, `$proto`,
/// `$conid` are the connection's and whose `httpExchange` holds the request and its reply.
extension Receiver {
    mutating func handleHTTP(_ bytes: [UInt8], from peer: SIPPeer) {
        // Whatever happens, the tcp main may then hand on the connection's next request.
        defer { _ = process.tcp?.request(TCPEnvelope(.httpDone, peer: peer), log: process.log) }
        guard let request = XHTTPRequest(bytes) else {
            process.log.notice("xhttp", "a request from \(peer) does not parse as HTTP: the connection closes")
            _ = process.tcp?.request(TCPEnvelope(.close, peer: peer), log: process.log)
            return
        }
        let settings = process.program.settings.derived[XHTTPModule.spec.name] as? XHTTPSettings ?? XHTTPSettings()
        guard settings.admits(request.url) else {
            process.log.debug("xhttp", "\(request.method) \(request.url) from \(peer): url_skip/url_match leave it unanswered")
            return
        }
        guard let route = process.program.routeIndex(XHTTPModule.routeName, in: .event) else {
            process.log.debug("xhttp", "\(request.method) \(request.url) from \(peer): no event_route[\(XHTTPModule.routeName)]")
            return
        }
        guard let message = try? SIPMessage.parse(Array(FakedRequest.text("xhttp-\(getpid())-\(peer.connection)").utf8)) else { return }
        let context = MessageContext(process: process, message: message, peer: peer)
        let exchange = XHTTPExchange(request: request, peer: peer, process: process)
        context.httpExchange = exchange
        exec.host = context
        exec.flags = 0
        exec.routeType = .event
        _ = process.program.run(route: route, as: .event, &exec)
        if exchange.sentStatus == nil {
            // As Kamailio: nothing is sent and the connection stays open.
            process.log.debug("xhttp", "\(request.method) \(request.url) from \(peer): the route sent no reply")
        } else if context.replyConnection.close {
            // set_reply_close() after the reply went out.
            exchange.requestClose()
        }
        context.releaseUnfinishedTransaction()
        context.releaseTransactions()
        exec.host = nil
    }
}
