import Glibc

/// An IPv4 address and UDP port on the loopback network (127.0.0.0/8).
///
/// The stress tool only ever talks to this machine: every endpoint it uses, the target and
/// the local bind address alike, is checked here, so a typo cannot aim a load test at
/// another host.
struct IPv4Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// The address in host byte order (127.0.0.1 is 0x7f00_0001).
    let address: UInt32
    let port: UInt16

    /// Why text could not be turned into a loopback endpoint.
    enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        case notLoopback(String)

        var description: String {
            switch self {
            case .malformed(let text):
                return "'\(text)' is not an IPv4 address with an optional port (e.g. 127.0.0.1:5060)"
            case .notLoopback(let text):
                return "'\(text)' is outside 127.0.0.0/8: respite-stress only sends to loopback addresses"
            }
        }
    }

    init(address: UInt32, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `a.b.c.d[:port]` or `localhost[:port]`; the port defaults to `defaultPort`.
    /// Anything outside 127.0.0.0/8 is refused.
    init(parsing text: String, defaultPort: UInt16) throws(ParseError) {
        var host = Substring(text)
        var port = defaultPort
        if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let p = UInt16(text[text.index(after: colon)...]) else { throw .malformed(text) }
            port = p
        }
        if host == "localhost" { host = "127.0.0.1" }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw .malformed(text) }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII),
                  let octet = UInt8(part) else { throw .malformed(text) }
            value = value << 8 | UInt32(octet)
        }
        guard value >> 24 == 127 else { throw .notLoopback(text) }
        self.init(address: value, port: port)
    }

    /// Dotted-quad text of the address alone.
    var host: String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }

    /// `host:port`, as it goes into a Via sent-by or a URI.
    var description: String { "\(host):\(port)" }

    /// The socket address in network byte order.
    var sockaddr: sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr = in_addr(s_addr: address.bigEndian)
        return sa
    }

    /// The endpoint a kernel socket address describes.
    init(_ sa: sockaddr_in) {
        self.init(address: UInt32(bigEndian: sa.sin_addr.s_addr), port: UInt16(bigEndian: sa.sin_port))
    }
}
