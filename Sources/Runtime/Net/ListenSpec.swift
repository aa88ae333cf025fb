import Shared

/// A `listen=` value (also `-l`): `[proto:]ADDR[:PORT] [advertise HOST[:PORT]] [name "NAME"]`.
/// `proto` is `udp` or `tcp`; without it the address is served on every transport the
/// server runs (UDP, and TCP unless `disable_tcp`), as Kamailio does. An IPv6 address goes
/// in brackets (`udp:[::1]:5060`). The port defaults to 5060.
public struct ListenSpec: Sendable, Equatable, CustomStringConvertible {
    public var transport: SIPTransport?
    public var address: SocketAddress
    /// What Via headers and Record-Route carry instead of the bound address (NAT).
    public var advertise: Advertised?

    public struct Advertised: Sendable, Equatable {
        public var host: String
        public var port: Int?
    }

    public var description: String {
        var text = transport.map { "\($0.name):\(address)" } ?? "\(address)"
        if let a = advertise { text += " advertise \(a.host)" + (a.port.map { ":\($0)" } ?? "") }
        return text
    }

    /// This spec on one transport.
    public func on(_ transport: SIPTransport) -> ListenSpec {
        var copy = self
        copy.transport = transport
        return copy
    }

    /// Parses a listen value; an error message for anything else.
    public static func parse(_ text: String) -> Result<ListenSpec, ListenError> {
        // Kamailio lets a host be a quoted string inside the address (`udp:"10.0.0.1":5060`).
        let words = text.filter { $0 != "\"" }.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first else { return .failure(ListenError(message: "empty listen address")) }
        var advertise: Advertised?
        var i = 1
        while i < words.count {
            let keyword = words[i].lowercased()
            guard i + 1 < words.count, keyword == "advertise" || keyword == "name" else {
                return .failure(ListenError(message: "listen address '\(text)': unexpected '\(words[i])' (expected advertise HOST[:PORT] or name \"NAME\")"))
            }
            if keyword == "advertise" {
                guard let (host, portText) = SocketAddress.splitHostPort(words[i + 1]), !host.isEmpty else {
                    return .failure(ListenError(message: "listen address '\(text)': bad advertise address '\(words[i + 1])'"))
                }
                var port: Int?
                if let portText {
                    guard let p = Int(portText), (1...65535).contains(p) else {
                        return .failure(ListenError(message: "listen address '\(text)': bad advertise port '\(portText)'"))
                    }
                    port = p
                }
                advertise = Advertised(host: String(host), port: port)
            }
            i += 2
        }
        var rest = Substring(first)
        var transport: SIPTransport?
        if let colon = rest.firstIndex(of: ":"), colon > rest.startIndex, rest[..<colon].allSatisfy(\.isLetter) {
            let proto = rest[..<colon].lowercased()
            guard let t = SIPTransport(name: proto), t != .tls else {
                return .failure(ListenError(message: "listen address '\(text)': transport \(proto) is not supported (udp or tcp)"))
            }
            transport = t
            rest = rest[rest.index(after: colon)...]
        }
        guard let (host, portText) = SocketAddress.splitHostPort(rest) else {
            return .failure(ListenError(message: "listen address '\(text)' is not [udp:|tcp:]IP[:PORT]"))
        }
        var port = 5060
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                return .failure(ListenError(message: "bad port in listen address '\(text)'"))
            }
            port = p
        }
        guard let address = SocketAddress(host: host, port: port) else {
            return .failure(ListenError(message: "listen address '\(text)' is not [udp:|tcp:]IP[:PORT] (an IP address, not a name)"))
        }
        return .success(ListenSpec(transport: transport, address: address, advertise: advertise))
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
