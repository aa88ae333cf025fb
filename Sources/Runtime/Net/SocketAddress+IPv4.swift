import Shared

/// tm's transaction table keeps addresses as IPv4 words in host byte order
/// (`src_ip`, `dest_ip` in cs_tx.h), and tm and async name them that way; these two
/// bridge that code to `SocketAddress` until the table stores either family.
extension SocketAddress {
    /// An IPv4 address in host byte order.
    init(ip: UInt32, port: UInt16) {
        self.init(ipv4: ip, port: port)
    }

    /// The IPv4 address in host byte order. Traps on an IPv6 address, which the server
    /// never handles: it listens on IPv4 only (`ListenSpec`), so requests come from IPv4
    /// and next hops are resolved in the family of the socket that sends to them.
    var ip: UInt32 {
        guard let ip = ipv4 else { preconditionFailure("IPv6 address \(self) where tm stores IPv4 only") }
        return ip
    }
}
