import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One of the server's listen sockets, on one transport, as every process knows it: its
/// place in the listen order (what transactions record), its address and what Via
/// headers advertise. A UDP socket is read by its receivers and written by anyone; a TCP
/// socket's listening descriptor belongs to the tcp main, which alone accepts on it.
///
/// The master opens every socket before it forks; children inherit them.
public final class LocalSocket: Sendable {
    public let index: Int
    public let transport: SIPTransport
    /// The address bound (the real port when port 0 was asked for).
    public let address: SocketAddress
    public let advertise: ListenSpec.Advertised?
    /// The UDP socket (nil on TCP).
    public let udp: ListenSocket?
    /// The listening descriptor (TCP; -1 on UDP).
    public let listenerFD: Int32
    /// `udp:127.0.0.1:5060`: as Kamailio names a socket (usrloc's Socket, `$fs`, `listen=`).
    public let name: String
    /// The hosts that name this socket (bound, Via, advertised), as `LocalNames.bare`
    /// writes them: what `myself` compares against, worked out once.
    let hostNames: [String]

    /// Binds `spec` (its transport set).
    init(index: Int, spec: ListenSpec) throws(SystemCallError) {
        self.index = index
        transport = spec.transport ?? .udp
        advertise = spec.advertise
        switch transport {
        case .udp:
            let socket = try ListenSocket(binding: spec.address)
            udp = socket
            address = socket.address
            listenerFD = -1
        case .tcp, .tls:
            let (fd, bound) = try StreamSocket.listen(on: spec.address)
            udp = nil
            address = bound
            listenerFD = fd
        }
        name = "\(transport.name):\(address)"
        // viaHost is the advertised host, else the address: both are here.
        let names = [address.host, address.uriHost] + (spec.advertise.map { [$0.host] } ?? [])
        hostNames = Array(Set(names.map(LocalNames.bare)))
    }

    /// The host a Via or Record-Route names this socket by: the advertised one, else the
    /// address (IPv6 in brackets).
    public var viaHost: String {
        guard let host = advertise?.host else { return address.uriHost }
        return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// The port a Via or Record-Route names: the advertised one, else the bound one.
    public var viaPort: Int { advertise?.port ?? Int(address.port) }


    /// Whether a Via or Route naming `host:port` names this socket.
    func isNamed(host: String, port: Int) -> Bool {
        guard port == viaPort || port == Int(address.port) else { return false }
        if host == address.host || host == address.uriHost || host == viaHost { return true }
        if let advertised = advertise?.host, advertised == host { return true }
        return host == "localhost" && address.isLoopback
    }
}
