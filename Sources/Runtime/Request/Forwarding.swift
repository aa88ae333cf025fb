import SIP
import Shared

/// Building and addressing a request that leaves this server (stateless `forward()` and
/// tm's `t_relay`): the script's changes applied over the received bytes.
extension MessageContext {
    /// The edits the script asked for, in ForwardBuilder's terms.
    var forwardEdits: [ForwardEdit] {
        var out: [ForwardEdit] = []
        if let uri = edits.requestURI { out.append(.setRequestURI(uri)) }
        for name in edits.removedHeaders.sorted() { out.append(.removeAll(named: name)) }
        for line in edits.appendedHeaders {
            var text = Substring(line)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            guard let colon = text.firstIndex(of: ":") else { continue }
            let name = text[..<colon].trimmingCharacters(in: " ")
            let value = text[text.index(after: colon)...].trimmingCharacters(in: " ")
            out.append(.addLast(name: name, value: value))
        }
        return out
    }

    /// Where the request goes, and how: `$du` if set, else the Request-URI; over the
    /// transport `transport` names (t_relay_to_tcp), else the one `$fs` forces, else the
    /// URI's `;transport=` (UDP without one), from our socket of that transport and the
    /// destination's family. A name is resolved from /etc/hosts or DNS (A/AAAA), in the
    /// family of the socket the request came on when it has one. nil when it cannot be
    /// resolved or no socket of ours can reach it (both logged by the caller).
    func nextHop(overrideHost: String? = nil, overridePort: Int? = nil, transport: SIPTransport? = nil) -> SIPPeer? {
        var host = overrideHost
        var port = overridePort
        var wanted = transport
        if host == nil {
            guard let uri = SIPURI.parse(edits.destinationURI ?? requestURI) else { return nil }
            host = uri.host
            port = uri.port
            if wanted == nil, let t = uri.params.value("transport") { wanted = SIPTransport(name: t) ?? .udp }
        }
        guard let host else { return nil }
        let forced = edits.forceSocket.flatMap { $0 < process.sockets.count ? process.sockets[$0] : nil }
        let proto = wanted ?? forced?.transport ?? .udp
        let bare = host.trimmingCharacters(in: "[]")
        let defaultPort = proto == .tls ? 5061 : 5060
        guard let address = SocketAddress.resolve(host: bare, port: port ?? defaultPort, family: forced?.address.family ?? socket.address.family)
                ?? SocketAddress.resolve(host: bare, port: port ?? defaultPort)
        else { return nil }
        let out = forced.flatMap { $0.transport == proto && $0.address.family == address.family ? $0 : nil }
            ?? process.outputSocket(proto, family: address.family, preferring: socket.index)
        guard let out else { return nil }
        return SIPPeer(transport: proto, address: address, socketIndex: out.index)
    }

    /// Writes the forwarded request, sent towards `destination`, into the process's
    /// buffer: its Via names the socket it leaves from and its transport. Throws when
    /// Max-Forwards is exhausted or the message is not a request.
    func buildForward(branch: String? = nil, to destination: SIPPeer) throws(SIPBuildError) {
        let out = process.sockets[destination.socketIndex]
        let sentBy = ViaSentBy(transport: destination.transport.viaName, host: out.viaHost, port: out.viaPort)
        try ForwardBuilder.forward(message, via: sentBy, branch: branch, edits: forwardEdits,
                                   maxForwardsWhenAbsent: edits.maxForwardsToAdd ?? 70, into: &process.outBuffer)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
