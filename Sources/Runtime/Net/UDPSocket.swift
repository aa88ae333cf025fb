import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A bound UDP socket, shared by the receivers forked from the master (they all read it).
/// Owned by the master; children inherit the descriptor.
public struct UDPSocket: Sendable {
    public let fd: Int32
    public let address: SocketAddress

    /// Creates, sizes and binds a socket. A large receive buffer absorbs bursts while the
    /// receivers are busy (the limit Kamailio hits first under load).
    public static func bind(_ address: SocketAddress, receiveBuffer: Int = 8 << 20) throws(SystemCallError) -> UDPSocket {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        if fd < 0 { throw SystemCallError("socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var size = Int32(receiveBuffer)
        // SO_RCVBUFFORCE passes the sysctl limit when we are root; otherwise the plain one.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var sa = address.sockaddr
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw SystemCallError("bind(\(address))", errno: e)
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UDPSocket(fd: fd, address: SocketAddress(bound))
    }

    /// Receives one datagram into `scratch` (a per-process buffer of 64 KiB). Returns its
    /// length and sender, or nil when interrupted by a signal (the caller re-checks its
    /// state) or on an error.
    public func receive(into scratch: UnsafeMutableRawBufferPointer) -> (count: Int, from: SocketAddress)? {
        var from = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &from) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(fd, scratch.baseAddress, scratch.count, 0, $0, &len)
            }
        }
        if n < 0 { return nil }
        return (n, SocketAddress(from))
    }

    /// Sends one datagram; returns false (and the errno) when the kernel refused it.
    @discardableResult
    public func send(_ bytes: [UInt8], to address: SocketAddress) -> Bool {
        var sa = address.sockaddr
        let n = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return n == bytes.count
    }
}
