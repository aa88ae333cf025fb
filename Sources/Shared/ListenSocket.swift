/// One of the server's listen sockets: a blocking `DatagramSocket` with large buffers.
///
/// The master opens it before forking; every child inherits it, and several objects
/// hold it at once (the worker table, each process's context, every message context),
/// which a `~Copyable` socket cannot be: so this class owns the socket, and the
/// descriptor closes when the last reference goes (in the master, when serving ends;
/// children leave with `_exit` and never close it). Every receiver of a socket reads it.
public final class ListenSocket: Sendable {
    public let socket: DatagramSocket
    /// The address the socket is bound to.
    public let address: SocketAddress

    /// The socket's buffers, asked for both directions: a large receive buffer absorbs
    /// bursts while the receivers are busy (the limit Kamailio hits first under load).
    public static let bufferBytes = 8 << 20

    /// Opens and binds a blocking socket with SO_REUSEADDR and `bufferBytes` buffers
    /// (forced past the sysctl limits when the process may).
    public init(binding address: SocketAddress) throws(SystemCallError) {
        socket = try DatagramSocket(binding: address, options: .init(
            blocking: true, reuseAddress: true, receiveBufferBytes: ListenSocket.bufferBytes,
            sendBufferBytes: ListenSocket.bufferBytes, forceBufferSizes: true))
        self.address = socket.address
    }

    /// The descriptor, which names the socket among a process's listen sockets.
    public var fd: Int32 { socket.descriptor }

    /// Receives one datagram into `scratch` (a per-process buffer of 64 KiB): its length
    /// and sender, or nil when the call failed (the receiver goes on reading).
    /// `waiting: false` returns nil at once when no datagram is queued: after a wake-up
    /// another receiver of the socket may have taken the datagram.
    public func receive(into scratch: UnsafeMutableRawBufferPointer, waiting: Bool = true)
        -> (count: Int, from: SocketAddress)?
    {
        guard case .done(let datagram)? = try? socket.receive(into: scratch, waiting: waiting) else { return nil }
        return datagram
    }

    /// Sends one datagram. False when nothing went out: the kernel's queue was full, or
    /// the call failed (a destination of another family, an unreachable network).
    @discardableResult
    public func send(_ bytes: [UInt8], to address: SocketAddress) -> Bool {
        guard case .done? = try? socket.send(bytes, to: address) else { return false }
        return true
    }
}
