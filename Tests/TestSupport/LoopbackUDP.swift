import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A UDP socket bound to an ephemeral port on 127.0.0.1 (or another loopback address),
/// for talking to a server under test. Closed when released.
public final class LoopbackUDPSocket {
    public let fd: Int32
    /// The port it is bound to.
    public let port: UInt16

    /// Binds `host` (host byte order, in 127.0.0.0/8: 127.0.0.2 is another source for
    /// the server), port 0.
    public init(host: UInt32 = 0x7F00_0001) throws {
        precondition(host >> 24 == 127, "loopback only")
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Spawn.Failure("socket: \(String(cString: strerror(errno)))") }
        var sa = LoopbackUDPSocket.address(port: 0)
        sa.sin_addr.s_addr = host.bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else {
            let e = errno
            close(fd)
            throw Spawn.Failure("bind \(host >> 24).\(host >> 16 & 255).\(host >> 8 & 255).\(host & 255):0: \(String(cString: strerror(e)))")
        }
        self.fd = fd
        self.port = UInt16(bigEndian: sa.sin_port)
    }

    deinit { close(fd) }

    /// Sends one datagram to 127.0.0.1:`port`.
    public func send(_ bytes: [UInt8], to port: UInt16) {
        var sa = LoopbackUDPSocket.address(port: port)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, or nil when none arrives within `timeout` seconds.
    public func receive(timeout: TimeInterval) -> [UInt8]? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(max(0, timeout) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Array(buffer[0..<n])
    }

    static func address(port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        sa.sin_port = port.bigEndian
        return sa
    }
}

/// Loopback UDP ports for servers and tools under test.
extension LoopbackUDPSocket {
    /// Sends `bytes` to `port` from a new socket and returns the lines of the first reply
    /// (split at CRLF), nil when none comes within `timeout`: for tests that compare the
    /// answers of two servers to the same request.
    public static func firstReplyLines(_ bytes: [UInt8], port: UInt16, timeout: TimeInterval = 3) throws -> [String]? {
        let socket = try LoopbackUDPSocket()
        socket.send(bytes, to: port)
        return socket.receive(timeout: timeout).map { String(decoding: $0, as: UTF8.self).components(separatedBy: "\r\n") }
    }
}

public enum FreePort {
    /// A UDP port on 127.0.0.1 that was free a moment ago.
    public static func udp() throws -> UInt16 {
        try LoopbackUDPSocket().port
    }

    /// A port free a moment ago for UDP and TCP, on 127.0.0.1 and on [::1]: what a
    /// server under test listens on (a `listen` without transport takes UDP and TCP, and
    /// tests may add the IPv6 loopback).
    public static func server() throws -> UInt16 {
        for _ in 0..<50 {
            let port = try udp()
            if canBind(port, family: AF_INET, type: SOCK_STREAM) && canBind(port, family: AF_INET6, type: SOCK_DGRAM)
                && canBind(port, family: AF_INET6, type: SOCK_STREAM) {
                return port
            }
        }
        return try udp()
    }

    private static func canBind(_ port: UInt16, family: Int32, type: __socket_type) -> Bool {
        let fd = socket(family, Int32(type.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET {
            var sa = LoopbackUDPSocket.address(port: port)
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        sa.sin6_addr.__in6_u.__u6_addr8.15 = 1
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        } == 0
    }

    /// Whether something has bound UDP 127.0.0.1:`port` (or the wildcard address), from
    /// /proc/net/udp: how to wait for a tool such as SIPp to start listening.
    public static func isUDPBound(_ port: UInt16) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8) else { return false }
        let wanted = [String(format: "0100007F:%04X", port), String(format: "00000000:%04X", port)]
        return table.split(separator: "\n").dropFirst().contains { line in
            let local =
                line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
            return wanted.contains(local)
        }
    }
}
