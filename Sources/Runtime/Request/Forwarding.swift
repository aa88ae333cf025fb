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

    /// Where the request goes: the first of `nextHops` that the sending socket can reach
    /// (UDP, its address family; while Respite has no TCP, a TCP or TLS target of that
    /// family is sent over UDP as before). nil when nothing resolves.
    func nextHop(overrideHost: String? = nil, overridePort: Int? = nil) -> SocketAddress? {
        let family = socket.address.family
        let hops = nextHops(overrideHost: overrideHost, overridePort: overridePort).filter { $0.address.family == family }
        return (hops.first { $0.transport == .udp } ?? hops.first)?.address
    }

    /// Every target for the request, best first (RFC 3263 over the DNS cache: see
    /// docs/dns.md): `overrideHost` (and port) if given, else `$du` if set, else the
    /// Request-URI. The whole list is for DNS failover (`use_dns_failover`).
    func nextHops(overrideHost: String? = nil, overridePort: Int? = nil) -> [SIPTarget] {
        if let host = overrideHost {
            return process.dns.targets(host: host, port: overridePort, transport: nil)
        }
        guard let uri = SIPURI.parse(edits.destinationURI ?? requestURI) else { return [] }
        return process.dns.targets(for: uri)
    }

    /// Writes the forwarded request into the process's buffer. Throws when Max-Forwards
    /// is exhausted or the message is not a request.
    func buildForward(branch: String? = nil) throws(SIPBuildError) {
        let sentBy = ViaSentBy(transport: "UDP", host: socket.address.host, port: Int(socket.address.port))
        try ForwardBuilder.forward(message, via: sentBy, branch: branch, edits: forwardEdits,
                                   maxForwardsWhenAbsent: edits.maxForwardsToAdd ?? 70, into: &process.outBuffer)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
