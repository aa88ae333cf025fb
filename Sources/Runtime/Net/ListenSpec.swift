import Shared

/// A `listen=` value: `udp:IP:PORT`, `IP:PORT`, `IP` or `udp:IP` (port 5060); an IPv6
/// address goes in brackets (`udp:[::1]:5060`).
public struct ListenSpec: Sendable, Equatable, CustomStringConvertible {
    public var address: SocketAddress

    public var description: String { "udp:\(address)" }

    /// Parses a listen value; returns an error message for anything else.
    public static func parse(_ text: String) -> Result<ListenSpec, ListenError> {
        var rest = Substring(text.trimmingCharacters(in: " \t\""))
        if let colon = rest.firstIndex(of: ":"), colon > rest.startIndex, rest[..<colon].allSatisfy(\.isLetter) {
            let proto = rest[..<colon].lowercased()
            guard proto == "udp" else {
                return .failure(ListenError(message: "only udp listen sockets are supported (got \(proto))"))
            }
            rest = rest[rest.index(after: colon)...]
        }
        guard let (host, portText) = SocketAddress.splitHostPort(rest) else {
            return .failure(ListenError(message: "listen address '\(text)' is not udp:IP:PORT"))
        }
        var port = 5060
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                return .failure(ListenError(message: "bad port in listen address '\(text)'"))
            }
            port = p
        }
        guard let address = SocketAddress(host: host, port: port) else {
            return .failure(ListenError(message: "listen address '\(text)' is not udp:IP:PORT"))
        }
        // tm keeps a transaction's addresses as IPv4 words (cs_tx.h), and every process
        // sends from the first listen socket: one family, IPv4, until both change.
        guard address.family == .ipv4 else {
            return .failure(ListenError(message: "listen address '\(text)': IPv6 is not served yet (only IPv4)"))
        }
        return .success(ListenSpec(address: address))
    }

    public struct ListenError: Error, Sendable { public var message: String }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
