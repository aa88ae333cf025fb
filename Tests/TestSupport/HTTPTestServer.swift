import Foundation

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

    deinit { stop() }
}
