import SIP
import Shared

/// Building and addressing a request that leaves this server (stateless `forward()` and
/// tm's `t_relay`): the script's changes applied over the received bytes.
extension MessageContext {
    /// The edits the script asked for, in ForwardBuilder's terms.
    var forwardEdits: [ForwardEdit] {
        var out: [ForwardEdit] = [edits.forceRPort ? .receivedFromForcingRPort(host: source.host, port: Int(source.port))
                                                   : .receivedFrom(host: source.host, port: Int(source.port))]
        if let uri = edits.requestURI { out.append(.setRequestURI(uri)) }
        for name in edits.removedHeaders.sorted() { out.append(.removeAll(named: name)) }
        for splice in edits.splices { out.append(.replace(splice.range, splice.text)) }
        for line in edits.appendedHeaders {
            var text = Substring(line)
            // "\r\n" is one Character in Swift: test it too.
            while let last = text.last, last == "\n" || last == "\r" || last == "\r\n" { text.removeLast() }
            guard let colon = text.firstIndex(of: ":") else { continue }
            let name = String(text[..<colon].trimmingSpaces)
            let value = String(text[text.index(after: colon)...].trimmingSpaces)
            out.append(.addLast(name: name, value: value))
        }
        return out
    }

    /// Where the request goes, and how: the first of `nextHops`.
    func nextHop(overrideHost: String? = nil, overridePort: Int? = nil, transport: SIPTransport? = nil) -> SIPPeer? {
        nextHops(overrideHost: overrideHost, overridePort: overridePort, transport: transport).first
    }

    /// Every target for the request, best first, each with the socket it leaves from:
    /// `overrideHost` (and port) if given, else `$du` if set, else the Request-URI, resolved
    /// by RFC 3263 over the DNS cache (docs/dns.md). The transport is `transport` when
    /// given (t_relay_to_tcp), else the URI's `;transport=` or what NAPTR and SRV choose
    /// (UDP by default); `$fs` picks the socket only when it has that transport and family
    /// (Kamailio ignores a forced socket that does not match, too). A target no socket of
    /// ours can reach is left out. The whole list is for DNS failover (`use_dns_failover`).
    func nextHops(overrideHost: String? = nil, overridePort: Int? = nil, transport: SIPTransport? = nil) -> [SIPPeer] {
        guard let query = destinationQuery(overrideHost: overrideHost, overridePort: overridePort, transport: transport) else {
            return []
        }
        let forced = forcedSocket
        let targets = process.dns.targets(host: query.host, port: query.port, transport: query.transport, secure: query.secure)
        return targets.compactMap { target in
            let out = forced.flatMap { $0.transport == target.transport && $0.address.family == target.address.family ? $0 : nil }
                ?? process.outputSocket(target.transport, family: target.address.family, preferring: socket.index)
            return out.map { SIPPeer(transport: target.transport, address: target.address, socketIndex: $0.index) }
        }
    }

    /// The socket `$fs` forces, if any.
    var forcedSocket: LocalSocket? {
        edits.forceSocket.flatMap { $0 < process.sockets.count ? process.sockets[$0] : nil }
    }

    /// What `nextHops` resolves: `overrideHost` (and port) if given, else the host of `$du`
    /// or the Request-URI, with the transport asked for (`transport`, else the forced
    /// socket's, else the URI's `;transport=`). nil when the URI does not parse.
    func destinationQuery(overrideHost: String? = nil, overridePort: Int? = nil, transport: SIPTransport? = nil) -> DNSQuery? {
        let wanted = transport
        if let host = overrideHost {
            return DNSQuery(host: host, port: overridePort, transport: wanted, secure: false)
        }
        guard let uri = SIPURI.parse(edits.destinationURI ?? requestURI) else { return nil }
        return DNSQuery(host: uri.host, port: uri.port,
                        transport: wanted ?? uri.params.value("transport").flatMap { SIPTransport(name: $0) },
                        secure: uri.isSecure)
    }

    /// Writes the forwarded request, sent towards `destination`, into the process's
    /// buffer: its Via names the socket it leaves from and its transport, and rr's
    /// Record-Route and Route changes are applied (RecordRoute.swift). Throws when
    /// Max-Forwards is exhausted or the message is not a request.
    func buildForward(branch: String? = nil, to destination: SIPPeer) throws(SIPBuildError) {
        let out = process.sockets[destination.socketIndex]
        let sentBy = ViaSentBy(transport: destination.transport.viaName, host: out.viaHost, port: out.viaPort,
                               extraParams: edits.addLocalRPort ? ["rport"] : [])
        try ForwardBuilder.forward(message, via: sentBy, branch: branch, edits: forwardEdits + routingEdits(outbound: out),
                                   maxForwardsWhenAbsent: edits.maxForwardsToAdd ?? 70, into: &process.outBuffer)
    }
}
