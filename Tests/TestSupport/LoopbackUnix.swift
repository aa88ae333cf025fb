import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A client of a unix stream socket (ctl's binrpc socket), for tests that send it raw bytes.
public final class LoopbackUnixStream {
    public let descriptor: Int32

    public init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Spawn.Failure("socket: errno \(errno)") }
        var address = sockaddr_un.make(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(descriptor)
            throw Spawn.Failure("connect \(path): errno \(errno)")
        }
    }

    deinit { Glibc.close(descriptor) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Everything received until the server closes the connection or `timeout` passes.
    public func readUntilClosed(timeout: TimeInterval) -> [UInt8] {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    public func close() { shutdown(descriptor, Int32(SHUT_RDWR)) }
}

/// A unix datagram client bound to its own socket file (so that the server can answer it).
public final class LoopbackUnixDatagram {
    public let descriptor: Int32
    let path: String

    public init(directory: URL) throws {
        path = directory.appendingPathComponent("client-\(UInt32.random(in: 0...UInt32.max)).sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un.make(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, rc == 0 else { throw Spawn.Failure("bind \(path): errno \(errno)") }
    }

    deinit {
        Glibc.close(descriptor)
        unlink(path)
    }

    /// Sends `text` to the socket at `server` and returns the answer ("" after 3 s).
    public func ask(_ text: String, to server: String) throws -> String {
        var address = sockaddr_un.make(server)
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        guard sent == bytes.count else { throw Spawn.Failure("sendto \(server): errno \(errno)") }
        var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 3000) > 0 else { return "" }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
    }
}

extension sockaddr_un {
    static func make(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}
