#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 UDP address. Respite listens and sends on IPv4 (IPv6 is not supported yet).
public struct SocketAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Address in host byte order.
    public var ip: UInt32
    public var port: UInt16

    public init(ip: UInt32, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses a dotted IPv4 address.
    public init?(host: String, port: Int) {
        guard (0...65535).contains(port), let ip = SocketAddress.parseIPv4(host) else { return nil }
        self.init(ip: ip, port: UInt16(port))
    }

    init(_ sa: sockaddr_in) {
        ip = UInt32(bigEndian: sa.sin_addr.s_addr)
        port = UInt16(bigEndian: sa.sin_port)
    }

    var sockaddr: sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = ip.bigEndian
        return sa
    }

    public var host: String {
        "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255)"
    }

    public var description: String { "\(host):\(port)" }

    public var isLoopback: Bool { ip >> 24 == 127 }

    /// `a.b.c.d` with each part 0...255, nothing else.
    public static func parseIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var ip: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let v = UInt32(p), v <= 255 else { return nil }
            ip = ip << 8 | v
        }
        return ip
    }

    /// Resolves a host name from /etc/hosts or DNS (getaddrinfo), IPv4 only.
    public static func resolve(_ host: String, port: Int) -> SocketAddress? {
        if let a = SocketAddress(host: host, port: port) { return a }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let sa = first.pointee.ai_addr else { return nil }
        var addr = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
        addr.port = UInt16(clamping: port)
        return addr
    }
}

/// A `listen=` value: `udp:IP:PORT`, `IP:PORT`, `IP` or `udp:IP` (port 5060).
public struct ListenSpec: Sendable, Equatable, CustomStringConvertible {
    public var address: SocketAddress

    public var description: String { "udp:\(address)" }

    /// Parses a listen value; returns an error message for anything else.
    public static func parse(_ text: String) -> Result<ListenSpec, ListenError> {
        var rest = Substring(text.trimmingCharacters(in: " \t\""))
        if let colon = rest.firstIndex(of: ":"), rest[..<colon].allSatisfy(\.isLetter) {
            let proto = rest[..<colon].lowercased()
            guard proto == "udp" else {
                return .failure(ListenError(message: "only udp listen sockets are supported (got \(proto))"))
            }
            rest = rest[rest.index(after: colon)...]
        }
        var port = 5060
        if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(ListenError(message: "bad port in listen address '\(text)'"))
            }
            port = p
            rest = rest[..<colon]
        }
        guard let address = SocketAddress(host: String(rest), port: port) else {
            return .failure(ListenError(message: "listen address '\(text)' is not udp:IPv4:PORT"))
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
