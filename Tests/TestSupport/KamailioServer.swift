import Foundation

/// Kamailio 5.6.3 (Debian's `kamailio` package, which `make test` installs), started beside
/// Respite so that a test compares the two on the same config: its own process group,
/// scratch directory (also its run directory, `-Y`), free port and log; stopped when the
/// value goes (or by `stop()`).
public final class KamailioServer {
    public static let binary = "/usr/sbin/kamailio"

    public let port: UInt16
    /// Scratch directory: the config, the log, the run directory.
    public let directory: URL
    public let logURL: URL
    let process: ChildProcess

    /// Writes `config` with `PORT` replaced by a free port (and each of `replacements`)
    /// and starts Kamailio on it.
    public convenience init(config: String, replacements: [String: String] = [:], directory: URL? = nil) throws {
        let dir = try directory ?? Spawn.scratchDirectory("kamailio")
        let port = try FreePort.server()
        var text = config.replacingOccurrences(of: "PORT", with: String(port))
        for (token, value) in replacements { text = text.replacingOccurrences(of: token, with: value) }
        let url = dir.appendingPathComponent("kamailio.cfg")
        try text.write(to: url, atomically: true, encoding: .utf8)
        try self.init(configPath: url.path, port: port, directory: dir)
    }

    /// Starts Kamailio on the config at `configPath` (unchanged) listening on
    /// `udp:127.0.0.1:port` when `listen` is set (`-l`), else on what the config says.
    /// `extraArgs` follow the others (`-A NAME=value` defines, say).
    public init(configPath: String, port: UInt16, directory: URL, listen: Bool = false, extraArgs: [String] = []) throws {
        self.port = port
        self.directory = directory
        logURL = directory.appendingPathComponent("kamailio.log")
        let args = ["-f", configPath] + (listen ? ["-l", "udp:127.0.0.1:\(port)"] : [])
            + ["-DD", "-E", "-m", "64", "-M", "8", "-Y", directory.path] + extraArgs
        process = try Spawn.start(Self.binary, args, stdoutPath: logURL.path, stderrPath: logURL.path)
    }

    deinit { stop() }

    /// What Kamailio has logged so far.
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    @discardableResult
    public func stop() -> Termination? { process.stop() }

    /// Whether Kamailio is still running.
    public var isRunning: Bool { process.isRunning }

    /// Stops Kamailio as an operator would: SIGTERM to the main process alone, which stops
    /// its children and then runs the modules' shutdown (htable's write-back, usrloc's
    /// flush); waits up to `timeout` seconds before killing the group.
    @discardableResult
    public func stopGently(timeout: TimeInterval = 20) -> Termination? {
        if process.isRunning { kill(process.pid, SIGTERM) }
        _ = process.waitUntilExit(timeout: timeout)
        return process.stop(timeout: 1)
    }
}

extension KamailioServer {
    /// Kamailio, then Respite, on the same `config` (its `PORT` replaced by each one's
    /// port): `body` plays against each in turn, given the port and a way to read that
    /// server's log; each server is stopped once its turn is over.
    public static func playBoth<T>(config: String, _ body: (UInt16, () -> String) throws -> T) throws
        -> (kamailio: T, respite: T)
    {
        let kamailio = try KamailioServer(config: config)
        defer { kamailio.stop() }
        let kamailioPort = kamailio.port
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(kamailioPort) }) else {
            throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)")
        }
        let k = try body(kamailioPort) { kamailio.log }
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        let r = try body(respite.port) { respite.log }
        return (k, r)
    }
}
