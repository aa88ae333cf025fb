import CShared
#if canImport(Glibc)
import Glibc
#endif

/// TCP sockets for the tcp main: a listening socket bound by the master before fork, and
/// the connections it accepts or opens. Every descriptor is non-blocking and
/// close-on-exec; these are thin calls over the kernel's, owned by the tcp main's tables
/// (a connection's descriptor is closed by whoever removes the connection).
public enum StreamSocket {
    /// Opens, binds (SO_REUSEADDR) and listens on `address` (a backlog of `backlog`).
    /// The descriptor is non-blocking: the tcp main accepts from epoll.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(SystemCallError) -> (fd: Int32, bound: SocketAddress) {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = try Posix.retrying("socket(tcp)") { socket(address.family.domain, type, 0) }
        do throws(SystemCallError) {
            var one: Int32 = 1
            _ = try Posix.retrying("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if address.family == .ipv6 {
                _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            _ = try Posix.retrying("bind(tcp:\(address))") { address.withSockaddr { Glibc.bind(fd, $0, $1) } }
            _ = try Posix.retrying("listen(tcp:\(address))") { Glibc.listen(fd, backlog) }
            guard let bound = localAddress(fd) else { throw SystemCallError("getsockname", errno: EAFNOSUPPORT) }
            return (fd, bound)
        } catch {
            Posix.close(fd)
            throw error
        }
    }

    /// Accepts one waiting connection: its descriptor (non-blocking, close-on-exec) and
    /// peer; nil when none waits (or the peer left before it was accepted).
    /// Throws for what is not about one connection (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    public static func accept(_ listener: Int32) throws(SystemCallError) -> (fd: Int32, peer: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) { cs_accept(listener, $0, &length) }
            if fd >= 0 {
                let peer = withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(sockaddr: $0) }
                }
                guard let peer else {
                    Posix.close(fd)
                    return nil
                }
                return (fd, peer)
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO, EPERM: return nil
            default: throw SystemCallError("accept4", errno: errno)
            }
        }
    }

    /// Starts connecting to `peer` from `local`'s address (port chosen by the kernel) when
    /// given. The descriptor, and whether the connection is already up (loopback often
    /// is); the caller waits for EPOLLOUT otherwise and then asks `connectResult`.
    public static func connect(to peer: SocketAddress, from local: SocketAddress?) throws(SystemCallError) -> (fd: Int32, done: Bool) {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = try Posix.retrying("socket(tcp)") { socket(peer.family.domain, type, 0) }
        if let local, local.family == peer.family, !local.isUnspecified {
            _ = local.withPort(0).withSockaddr { Glibc.bind(fd, $0, $1) }
        }
        let rc = peer.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return (fd, true) }
        let error = errno
        if error == EINPROGRESS || error == EINTR { return (fd, false) }
        Posix.close(fd)
        throw SystemCallError("connect(tcp:\(peer))", errno: error)
    }

    /// The outcome of a non-blocking connect once the socket is writable: 0, or its errno.
    public static func connectResult(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }

    /// Reads what is there into `buffer` at `offset`: the count (0: the peer closed), nil
    /// when nothing is waiting, or the errno of a failure (a reset).
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n == 0 ? .closed : .bytes(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(errno)
            }
        }
    }

    public enum ReadResult: Equatable {
        case bytes(Int)
        case closed
        case wouldBlock
        case failed(Int32)
    }

    /// Writes as much of `bytes` as the socket takes: the count (0 when full), or the
    /// errno of a failure. MSG_NOSIGNAL: a peer that left gives EPIPE, not SIGPIPE.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, SystemCallError> {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .success(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .success(0)
            default: return .failure(SystemCallError("send(tcp)", errno: errno))
            }
        }
    }

    /// Turns TCP keepalive on, with the kernel's timings where a value is 0.
    public static func enableKeepalive(_ fd: Int32, idle: Int, interval: Int, count: Int) {
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        for (option, value) in [(TCP_KEEPIDLE, idle), (TCP_KEEPINTVL, interval), (TCP_KEEPCNT, count)] where value > 0 {
            var v = Int32(clamping: value)
            _ = setsockopt(fd, Int32(IPPROTO_TCP), option, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// TCP_NODELAY: SIP messages are whole when written; do not hold them back.
    public static func disableNagle(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes with a reset instead of a FIN (SO_LINGER 0): for a peer that sent garbage or
    /// one refused for want of room, so that no TIME_WAIT is left behind.
    public static func abort(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Posix.close(fd)
    }

    /// getsockname.
    public static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        guard withUnsafeMutablePointer(to: &storage, {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }) == 0 else { return nil }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(sockaddr: $0) }
        }
    }
}

extension SocketAddress {
    /// 0.0.0.0 or `::`.
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
}
