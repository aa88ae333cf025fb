import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The loopback HTTP server of `Tests/Helpers/http_test_server.py` (its docstring lists
/// the paths), started for one test and stopped by it (or when the test process dies).
public final class HTTPTestServer {
    public let port: UInt16
    let process: ChildProcess

    public init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Helpers/http_test_server.py").path
        let (process, line) = try Spawn.startReadingFirstLine("/usr/bin/env", ["python3", script])
        guard let port = UInt16(line.trimmingCharacters(in: .whitespaces)) else {
            _ = process.stop(timeout: 1)
            throw Spawn.Failure("http_test_server.py printed '\(line)', not a port")
        }
        self.process = process
        self.port = port
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public func stop() { _ = process.stop(timeout: 2) }

    /// A loopback TCP port nothing listens on (bound without listening, then closed, a
    /// moment ago): a connection to it is refused, as to a web service that is down.
    public static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Spawn.Failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var sa = LoopbackUDPSocket.address(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw Spawn.Failure("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: sa.sin_port)
    }

    deinit { stop() }
}
