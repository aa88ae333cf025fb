import Foundation

/// The loopback DNS responder of `Tests/Helpers/dns_test_server.py` (its docstring gives
/// the zone format), started for one test with one zone and stopped by it (or when the
/// test process dies). `resolvConf` is a resolv.conf naming it, for `RESPITE_RESOLV_CONF`.
public final class DNSTestServer {
    public let port: UInt16
    public let host: String
    public let resolvConf: String
    /// One line per query received: "NAME TYPE".
    public let queryLog: String
    let directory: URL
    let process: ChildProcess

    /// `zone` is the JSON object the helper reads; `silent`: it answers nothing.
    public init(zone: [String: Any], host: String = "127.0.0.1", port: UInt16 = 0, silent: Bool = false,
                timeoutSeconds: Int = 1, attempts: Int = 1) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Helpers/dns_test_server.py").path
        directory = try Spawn.scratchDirectory("dns")
        let zoneURL = directory.appendingPathComponent("zone.json")
        try JSONSerialization.data(withJSONObject: zone).write(to: zoneURL)
        queryLog = directory.appendingPathComponent("queries.log").path
        var args = [script, "--zone", zoneURL.path, "--host", host, "--port", String(port), "--log", queryLog]
        if silent { args.append("--silent") }
        let (process, line) = try Spawn.startReadingFirstLine("/usr/bin/env", ["python3"] + args)
        guard let bound = UInt16(line.trimmingCharacters(in: .whitespaces)) else {
            _ = process.stop(timeout: 1)
            throw Spawn.Failure("dns_test_server.py printed '\(line)', not a port")
        }
        self.process = process
        self.port = bound
        self.host = host
        resolvConf = directory.appendingPathComponent("resolv.conf").path
        let server = port == 53 ? host : "\(host):\(bound)"
        try "nameserver \(server)\noptions timeout:\(timeoutSeconds) attempts:\(attempts)\n"
            .write(toFile: resolvConf, atomically: true, encoding: .utf8)
    }

    /// The queries received so far, "NAME TYPE" each.
    public var queries: [String] {
        ((try? String(contentsOfFile: queryLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    public func stop() { _ = process.stop(timeout: 2) }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
