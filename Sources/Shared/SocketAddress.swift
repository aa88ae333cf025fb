#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address with a UDP port: what a socket binds, sends to and receives
/// from. A plain value (no resources), copied freely between processes' views.
///
/// The address is kept as 16 bytes in network order (an IPv4 address in the first four,
/// the rest zero), so one type, hashable and `Sendable`, serves both families.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6

        /// `AF_INET` or `AF_INET6`.
        public var domain: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    public let family: Family
    /// Bytes 0...7 and 8...15 of the address, big-endian.
    private let high: UInt64
    private let low: UInt64
    public var port: UInt16

    /// An IPv4 address given in host byte order (127.0.0.1 is 0x7f00_0001).
    public init(ipv4: UInt32, port: UInt16) {
        family = .ipv4
        high = UInt64(ipv4) << 32
        low = 0
        self.port = port
    }

    /// An IPv6 address from its 16 bytes in network order; nil for another count.
    public init?(ipv6 bytes: [UInt8], port: UInt16) {
        guard bytes.count == 16 else { return nil }
        family = .ipv6
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        self.port = port
    }

    /// An IPv6 address as the kernel holds it.
    init(_ raw: in6_addr, port: UInt16) {
        family = .ipv6
        high = withUnsafeBytes(of: raw) { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        low = withUnsafeBytes(of: raw) { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        self.port = port
    }

    /// Parses an address literal: dotted IPv4 (`a.b.c.d`, each part 0...255), or IPv6
    /// with or without brackets (`::1`, `[::1]`). No names: see `resolve(host:port:family:)`.
    public init?(host: some StringProtocol, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        if let ip = SocketAddress.parseIPv4(host) {
            self.init(ipv4: ip, port: UInt16(port))
            return
        }
        var text = Substring(host)
        if text.first == "[" && text.last == "]" { text = text.dropFirst().dropLast() }
        var raw = in6_addr()
        guard !text.isEmpty, text.contains(":"), inet_pton(AF_INET6, String(text), &raw) == 1 else { return nil }
        self.init(raw, port: UInt16(port))
    }

    /// Parses `host[:port]`: `1.2.3.4`, `1.2.3.4:5060`, `[::1]`, `[::1]:5060` or a plain
    /// `::1` (whose last group is never taken for a port). The port defaults to
    /// `defaultPort`.
    public init?(parsing text: some StringProtocol, defaultPort: UInt16) {
        guard let (host, portText) = SocketAddress.splitHostPort(Substring(text)) else { return nil }
        var port = Int(defaultPort)
        if let portText {
            guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let p = Int(portText) else { return nil }
            port = p
        }
        self.init(host: host, port: port)
    }

    /// Splits `host[:port]` where the host is IPv4, a name, `[IPv6]` or a plain IPv6
    /// address (more than one colon and no brackets: all host). Brackets stay on the
    /// host. nil for unbalanced brackets or text after `]` that is not `:port`.
    public static func splitHostPort(_ text: Substring) -> (host: Substring, port: Substring?)? {
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[...close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.first == ":" else { return nil }
            return (host, rest.dropFirst())
        }
        if text.contains("]") { return nil }
        let colons = text.reduce(0) { $0 + ($1 == ":" ? 1 : 0) }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            return (text[..<colon], text[text.index(after: colon)...])
        }
        return (text, nil)
    }

    /// The IPv4 address in host byte order, nil for an IPv6 address.
    public var ipv4: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: high >> 32) : nil }

    /// The 16 (IPv6) or 4 (IPv4) address bytes, in network order.
    public var bytes: [UInt8] {
        let all = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        return family == .ipv4 ? Array(all[0..<4]) : all
    }

    /// This address at another port.
    public func withPort(_ port: UInt16) -> SocketAddress {
        var copy = self
        copy.port = port
        return copy
    }

    /// The address alone: `1.2.3.4`, or `::1` (RFC 5952's short form, no brackets).
    public var host: String {
        if let ip = ipv4 { return "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255)" }
        var raw = in6
        var text = [CChar](repeating: 0, count: 64)
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The host as a URI or a Via writes it: IPv6 in brackets.
    public var uriHost: String { family == .ipv4 ? host : "[\(host)]" }

    /// `1.2.3.4:5060` or `[::1]:5060`.
    public var description: String { "\(uriHost):\(port)" }

    /// 127.0.0.0/8, `::1`, or an IPv4-mapped `::ffff:127.x.y.z`.
    public var isLoopback: Bool {
        if let ip = ipv4 { return ip >> 24 == 127 }
        if high == 0 && low == 1 { return true }
        return high == 0 && low >> 32 == 0xffff && (low >> 24) & 0xff == 127
    }

    /// `a.b.c.d` with each part 0...255 (at most three digits), nothing else; in host
    /// byte order.
    public static func parseIPv4(_ text: some StringProtocol) -> UInt32? {
        // One pass over the bytes: this runs for every relayed request's next hop.
        var ip: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                ip = ip << 8 | part
                (part, digits, dots) = (0, 0, dots + 1)
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 {
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return ip << 8 | part
    }

    /// Resolves a literal (brackets allowed) or a name from /etc/hosts or DNS
    /// (getaddrinfo), in `family` when given (a socket sends to its own family only),
    /// else the first address the resolver prefers. nil when nothing matches or `port`
    /// is outside 0...65535.
    public static func resolve(host: String, port: Int, family: Family? = nil) -> SocketAddress? {
        guard (0...65535).contains(port) else { return nil }
        if let literal = SocketAddress(host: host, port: port) {
            return family == nil || literal.family == family ? literal : nil
        }
        var hints = addrinfo()
        hints.ai_family = family?.domain ?? AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0 else { return nil }
        defer { freeaddrinfo(result) }
        var entry = result
        while let info = entry {
            if let sa = info.pointee.ai_addr, let found = SocketAddress(sockaddr: sa) {
                return found.withPort(UInt16(port))
            }
            entry = info.pointee.ai_next
        }
        return nil
    }
}

extension SocketAddress {
    /// The address a kernel socket address describes; nil for a family other than
    /// `AF_INET` and `AF_INET6`.
    init?(sockaddr address: UnsafePointer<sockaddr>) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let sa = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in.self)
            self.init(ipv4: UInt32(bigEndian: sa.sin_addr.s_addr), port: UInt16(bigEndian: sa.sin_port))
        case AF_INET6:
            let sa = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in6.self)
            self.init(sa.sin6_addr, port: UInt16(bigEndian: sa.sin6_port))
        default:
            return nil
        }
    }

    /// The 16 address bytes as the kernel holds an IPv6 address.
    private var in6: in6_addr {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) {
            $0.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return raw
    }

    /// Calls `body` with this address as a kernel socket address and its length.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var storage = sockaddr_storage()
        let length: Int
        switch family {
        case .ipv4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = (ipv4 ?? 0).bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sa, as: sockaddr_in.self) }
            length = MemoryLayout<sockaddr_in>.size
        case .ipv6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_addr = in6
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sa, as: sockaddr_in6.self) }
            length = MemoryLayout<sockaddr_in6>.size
        }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }
}
