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

    /// Where the request goes: `$du` if set, else the Request-URI (host resolved from
    /// /etc/hosts or DNS, in the family of the socket that sends it; no SRV yet). nil
    /// when it cannot be resolved.
    func nextHop(overrideHost: String? = nil, overridePort: Int? = nil) -> SocketAddress? {
        let family = socket.address.family
        if let host = overrideHost {
            return SocketAddress.resolve(host: host, port: overridePort ?? 5060, family: family)
        }
        guard let uri = SIPURI.parse(edits.destinationURI ?? requestURI) else { return nil }
        return SocketAddress.resolve(host: uri.host, port: uri.port ?? 5060, family: family)
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
