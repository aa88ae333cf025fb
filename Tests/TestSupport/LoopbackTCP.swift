import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP connection to (or accepted from) a server under test on 127.0.0.1: blocking
/// writes, reads with a deadline, closed when dropped (or reset on purpose).
public final class LoopbackTCPConnection {
    public private(set) var fd: Int32
    /// Bytes received and not yet taken by `nextMessage`.
    public var received: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Connects to 127.0.0.1:`port`; throws when refused.
    public convenience init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var sa = LoopbackUDPSocket.address(port: port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        self.init(fd: fd)
    }

    /// Connects to [::1]:`port`; throws when refused.
    public convenience init(ipv6Port port: UInt16) throws {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        sa.sin6_addr.__in6_u.__u6_addr8.15 = 1
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        self.init(fd: fd)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// The local port (what the server sees as the source port).
    public var localPort: UInt16 {
        var sa = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: sa.sin_port)
    }

    /// Writes every byte; false when the peer is gone.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until `condition(received)` holds, the peer closes, or `timeout` passes.
    /// Returns whether the condition held.
    @discardableResult
    public func read(timeout: TimeInterval, until condition: ([UInt8]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !condition(received) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left * 1000) + 1) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return condition(received) }
            received += buffer[0..<n]
        }
        return true
    }

    /// Whether the server closed the connection within `timeout` (EOF or reset).
    public func closedByPeer(within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
            received += buffer[0..<n]
        }
        return false
    }

    /// How many times `text` occurs in what was received.
    public func count(_ text: String) -> Int {
        let needle = Array(text.utf8)
        guard needle.count <= received.count else { return 0 }
        var found = 0
        var i = 0
        while i + needle.count <= received.count {
            if received[i] == needle[0] && Array(received[i..<(i + needle.count)]) == needle {
                found += 1
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }

    /// Closes normally (a FIN).
    public func close() {
        Glibc.close(fd)
        fd = -1
    }

    /// Closes with a reset (SO_LINGER 0), as a client that crashed or lost its network.
    public func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
        fd = -1
    }
}

/// A TCP listener on 127.0.0.1 (a downstream SIP peer for relays over TCP).
public final class LoopbackTCPListener {
    public let fd: Int32
    public let port: UInt16

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = LoopbackUDPSocket.address(port: 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = UInt16(bigEndian: bound.sin_port)
    }

    deinit { close(fd) }

    /// The next connection within `timeout`, or nil.
    public func accept(timeout: TimeInterval) -> LoopbackTCPConnection? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) > 0 else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        return client >= 0 ? LoopbackTCPConnection(fd: client) : nil
    }
}
