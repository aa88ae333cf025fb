import CShared

/// The transports a SIP hop may use, numbered as Kamailio's `$proto` numbers them.
public enum SIPTransport: UInt8, Sendable, Hashable, CaseIterable {
    case udp = 1
    case tcp = 2
    case tls = 3

    /// `udp`, `tcp`, `tls`: as `listen=` and `$proto` write it.
    public var name: String {
        switch self {
        case .udp: return "udp"
        case .tcp: return "tcp"
        case .tls: return "tls"
        }
    }

    /// `UDP`, `TCP`, `TLS`: as a Via writes it.
    public var viaName: String { name.uppercased() }

    /// Whether messages go over a connection (no retransmissions by the transaction layer,
    /// RFC 3261 §17.1.1.2 and §17.2.1).
    public var isReliable: Bool { self != .udp }

    /// From a name in any case (`udp`, `TCP`); nil for one Respite does not know.
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "udp": self = .udp
        case "tcp": self = .tcp
        case "tls": self = .tls
        default: return nil
        }
    }
}

/// One end of a SIP hop, as a transaction records it (`cs_peer`): the peer's address, the
/// transport, which of our listen sockets the hop uses, and the connection (TCP) when one
/// is known.
public struct SIPPeer: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransport
    public var address: SocketAddress
    /// Index of our listen socket in the server's listen order.
    public var socketIndex: Int
    /// The connection id (`$conid`), 0 when none is known: the TCP main then finds a
    /// connection to `address` or opens one.
    public var connection: UInt32

    public init(transport: SIPTransport, address: SocketAddress, socketIndex: Int, connection: UInt32 = 0) {
        self.transport = transport
        self.address = address
        self.socketIndex = socketIndex
        self.connection = connection
    }

    /// `udp:1.2.3.4:5060`, `tcp:[::1]:5060#12` (the connection id after `#`).
    public var description: String {
        let base = "\(transport.name):\(address)"
        return connection == 0 ? base : "\(base)#\(connection)"
    }

    /// The peer a `cs_peer` records; nil for an unknown family or transport (a damaged arena).
    public init?(_ raw: cs_peer) {
        guard let transport = SIPTransport(rawValue: raw.proto) else { return nil }
        let bytes = withUnsafeBytes(of: raw.addr) { Array($0) }
        switch raw.family {
        case 4:
            let ip = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
            address = SocketAddress(ipv4: ip, port: raw.port)
        case 6:
            guard let a = SocketAddress(ipv6: bytes, port: raw.port) else { return nil }
            address = a
        default:
            return nil
        }
        self.transport = transport
        socketIndex = Int(raw.socket_index)
        connection = raw.conid
    }

    /// This peer as a transaction stores it.
    public var raw: cs_peer {
        var r = cs_peer()
        let bytes = address.bytes
        withUnsafeMutableBytes(of: &r.addr) { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
        r.port = address.port
        r.family = address.family == .ipv4 ? 4 : 6
        r.proto = transport.rawValue
        r.socket_index = UInt16(clamping: socketIndex)
        r.conid = connection
        return r
    }
}
