import CShared
#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket of either address family, bound at creation and closed when its owner
/// drops it: the one socket of the project (the server's listen sockets through
/// `ListenSocket`, the load generator's directly).
///
/// It stays unconnected: `send(_:to:)` names the destination each time and `receive`
/// takes a datagram from anyone, so a peer answering from another socket is still heard.
/// Every call retries EINTR; a call that would block (EAGAIN, EWOULDBLOCK) or found the
/// kernel's queue full (ENOBUFS) returns `.wouldBlock`; an earlier datagram's ICMP
/// error (ECONNREFUSED), which the kernel reports on a later call, is retried; any other
/// error throws a `SystemCallError` naming the call. A bad descriptor or buffer traps.
///
/// Ownership: one value owns the descriptor (it is `~Copyable`) and closes it in
/// `deinit`. The descriptor is close-on-exec; a forked child inherits it with the rest
/// of the process and, leaving with `_exit`, never closes it itself.
public struct DatagramSocket: ~Copyable, Sendable {
    public let descriptor: Int32
    /// The address the kernel bound (the real port when port 0 was asked for).
    public let address: SocketAddress
    /// The buffer sizes the kernel granted, in bytes (read back after asking).
    public let receiveBufferBytes: Int
    public let sendBufferBytes: Int

    /// How the socket is opened.
    public struct Options: Sendable, Equatable {
        /// false: calls that would wait return `.wouldBlock` instead (SOCK_NONBLOCK).
        public var blocking: Bool
        /// SO_REUSEADDR, so a restarted server binds the port at once.
        public var reuseAddress: Bool
        /// SO_RCVBUF and SO_SNDBUF to ask for, in bytes (nil: the kernel's default).
        public var receiveBufferBytes: Int?
        public var sendBufferBytes: Int?
        /// Ask with SO_RCVBUFFORCE and SO_SNDBUFFORCE first: they pass the sysctl limits
        /// (net.core.rmem_max, wmem_max) for a privileged process. Without them, or when
        /// they fail, the plain options, which the kernel caps at those limits silently.
        public var forceBufferSizes: Bool

        public init(blocking: Bool = true, reuseAddress: Bool = false, receiveBufferBytes: Int? = nil,
                    sendBufferBytes: Int? = nil, forceBufferSizes: Bool = false) {
            self.blocking = blocking
            self.reuseAddress = reuseAddress
            self.receiveBufferBytes = receiveBufferBytes
            self.sendBufferBytes = sendBufferBytes
            self.forceBufferSizes = forceBufferSizes
        }
    }

    /// What a send or receive did, when it did not fail.
    public enum Outcome<Value> {
        /// The datagram went out, or came in: the call's result.
        case done(Value)
        /// Nothing was transferred: the socket is non-blocking and the call would have
        /// waited, or (on a send) the kernel's queue was full.
        case wouldBlock
    }

    /// Opens a socket of `address`'s family, applies `options` and binds it.
    public init(binding address: SocketAddress, options: Options = Options()) throws(SystemCallError) {
        var type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if !options.blocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = try Posix.retrying("socket") { socket(address.family.domain, type, 0) }
        do throws(SystemCallError) {
            // `waitReadable` sets the descriptor's bit in an fd_set.
            guard fd < FD_SETSIZE else { throw SystemCallError("socket (descriptor above FD_SETSIZE)", errno: EMFILE) }
            if options.reuseAddress {
                try DatagramSocket.set(fd, SO_REUSEADDR, "SO_REUSEADDR", to: 1)
            }
            if let bytes = options.receiveBufferBytes {
                if !(options.forceBufferSizes && DatagramSocket.trySet(fd, SO_RCVBUFFORCE, to: bytes)) {
                    try DatagramSocket.set(fd, SO_RCVBUF, "SO_RCVBUF", to: bytes)
                }
            }
            if let bytes = options.sendBufferBytes {
                if !(options.forceBufferSizes && DatagramSocket.trySet(fd, SO_SNDBUFFORCE, to: bytes)) {
                    try DatagramSocket.set(fd, SO_SNDBUF, "SO_SNDBUF", to: bytes)
                }
            }
            _ = try Posix.retrying("bind(\(address))") { address.withSockaddr { Glibc.bind(fd, $0, $1) } }
            let bound = try DatagramSocket.localAddress(fd)
            let receive = try DatagramSocket.get(fd, SO_RCVBUF, "SO_RCVBUF")
            let send = try DatagramSocket.get(fd, SO_SNDBUF, "SO_SNDBUF")
            // Every field at once, after every step that can fail: a noncopyable value
            // cannot be left half-initialised on an error path.
            descriptor = fd
            self.address = bound
            receiveBufferBytes = receive
            sendBufferBytes = send
        } catch {
            Posix.close(fd)
            throw error
        }
    }

    deinit { Posix.close(descriptor) }

    /// Sends one datagram to `destination` (of the socket's family).
    public func send(_ bytes: [UInt8], to destination: SocketAddress) throws(SystemCallError) -> Outcome<Int> {
        let fd = descriptor
        let sent = try Posix.transferring("sendto(\(destination))") {
            bytes.withUnsafeBytes { raw in
                destination.withSockaddr { Glibc.sendto(fd, raw.baseAddress, raw.count, 0, $0, $1) }
            }
        }
        return sent.map { .done($0) } ?? .wouldBlock
    }

    /// Receives one datagram into `buffer` (recvfrom): its length, truncated to the
    /// buffer, and its sender. `waiting: false` never waits, even on a blocking socket
    /// (MSG_DONTWAIT): `.wouldBlock` when no datagram is queued.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, waiting: Bool = true) throws(SystemCallError)
        -> Outcome<(count: Int, from: SocketAddress)>
    {
        let fd = descriptor
        let flags = waiting ? 0 : Int32(MSG_DONTWAIT)
        var storage = sockaddr_storage()
        var length = socklen_t(0)
        let received = try Posix.transferring("recvfrom") {
            length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            return withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, flags, $0, &length)
                }
            }
        }
        guard let count = received else { return .wouldBlock }
        let sender = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(sockaddr: $0) }
        }
        guard let sender else { preconditionFailure("recvfrom gave a sender of family \(storage.ss_family)") }
        return .done((count, sender))
    }

    /// Receives one datagram into `buffer`, which keeps its size (recv: the sender is
    /// not asked for). The datagram's length, truncated to the buffer.
    public func receiveIgnoringSender(into buffer: inout [UInt8]) throws(SystemCallError) -> Outcome<Int> {
        let fd = descriptor
        let received = try Posix.transferring("recv") {
            buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        }
        return received.map { .done($0) } ?? .wouldBlock
    }

    /// Waits until a datagram can be read or the monotonic clock (`cs_now_ns`,
    /// CLOCK_MONOTONIC) reaches `deadline` in nanoseconds; nil waits without limit.
    /// True when readable. A signal restarts the wait with the time left.
    ///
    /// `pselect` because it takes a nanosecond timeout: `poll`'s milliseconds are too
    /// coarse to pace thousands of requests a second, and `ppoll` is not visible to Swift
    /// without `_GNU_SOURCE`.
    public func waitReadable(until deadline: UInt64?) throws(SystemCallError) -> Bool {
        let fd = descriptor
        let ready = try Posix.retrying("pselect") {
            var set = fd_set()
            withUnsafeMutableBytes(of: &set) { bits in
                bits[Int(fd) / 8] |= UInt8(1) << UInt8(fd % 8)
            }
            guard let deadline else { return pselect(fd + 1, &set, nil, nil, nil, nil) }
            let now = cs_now_ns()
            let wait = deadline > now ? deadline - now : 0
            var timeout = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            return pselect(fd + 1, &set, nil, nil, &timeout, nil)
        }
        return ready > 0
    }
}

extension DatagramSocket {
    /// getsockname: the address `fd` is bound to.
    private static func localAddress(_ fd: Int32) throws(SystemCallError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try Posix.retrying("getsockname") {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(sockaddr: $0) }
        }
        guard let bound else {
            throw SystemCallError("getsockname (address family \(storage.ss_family))", errno: EAFNOSUPPORT)
        }
        return bound
    }

    /// setsockopt at SOL_SOCKET with an int value.
    private static func set(_ fd: Int32, _ option: Int32, _ name: String, to value: Int) throws(SystemCallError) {
        var v = Int32(clamping: value)
        _ = try Posix.retrying("setsockopt(\(name))") {
            setsockopt(fd, SOL_SOCKET, option, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// As `set`, reporting failure instead of throwing (for the privileged variants).
    private static func trySet(_ fd: Int32, _ option: Int32, to value: Int) -> Bool {
        var v = Int32(clamping: value)
        return setsockopt(fd, SOL_SOCKET, option, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// getsockopt at SOL_SOCKET of an int value.
    private static func get(_ fd: Int32, _ option: Int32, _ name: String) throws(SystemCallError) -> Int {
        var v: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try Posix.retrying("getsockopt(\(name))") { getsockopt(fd, SOL_SOCKET, option, &v, &length) }
        return Int(v)
    }
}
