import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The same kamcmd calls against Kamailio 5.6.3 and Respite running the same config: the
/// answers must have the same shape (the same blocks with the same member names in the same
/// order; values differ: pids, sizes, times). Kamailio comes from Debian's package, which
/// `make test` installs.
@Suite(.serialized) struct RPCShapeTests {
    /// The issue's config: ctl, jsonrpcs over HTTP, xhttp and xhttp_prom on the SIP TCP port.
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=2
    tcp_children=2
    listen=udp:127.0.0.1:PORT
    listen=tcp:127.0.0.1:PORT
    tcp_accept_no_cl=yes
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "sl.so"
    loadmodule "tm.so"
    loadmodule "pv.so"
    loadmodule "htable.so"
    loadmodule "ctl.so"
    loadmodule "cfg_rpc.so"
    loadmodule "kex.so"
    loadmodule "xhttp.so"
    loadmodule "jsonrpcs.so"
    loadmodule "xhttp_prom.so"
    modparam("ctl", "binrpc", "unix:SOCKET")
    modparam("htable", "htable", "t=>size=2;")
    modparam("jsonrpcs", "transport", 1)
    modparam("xhttp_prom", "xhttp_prom_stats", "all")
    request_route { sl_send_reply("200", "OK"); }
    event_route[xhttp:request] {
        if ($hu =~ "^/RPC") { jsonrpc_dispatch(); exit; }
        if (prom_check_uri()) { prom_dispatch(); exit; }
        xhttp_reply("404", "Not Found", "text/plain", "no $hu here");
    }
    """

    /// One HTTP request on a new connection: the status line and the body.
    static func http(port: UInt16, _ request: String) throws -> (status: String, body: String) {
        let tcp = try LoopbackTCPConnection(port: port)
        defer { tcp.close() }
        _ = tcp.send(request)
        var result: (String, String)?
        tcp.read(timeout: 5) { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { return false }
            let head = String(text[..<split.lowerBound])
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = Array(text[split.upperBound...].utf8)
            guard body.count >= length else { return false }
            result = (head.components(separatedBy: "\r\n")[0], String(decoding: body.prefix(length), as: UTF8.self))
            return true
        }
        guard let result else { throw Spawn.Failure("no HTTP reply from port \(port)") }
        return result
    }

    /// Each block's member names, in order; a line outside a block is "value".
    static func shape(_ kamcmdOutput: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in kamcmdOutput.split(separator: "\n") {
            if line == "{" { current = []; continue }
            if line == "}" { blocks.append(current ?? []); current = nil; continue }
            if current != nil {
                if let colon = line.firstIndex(of: ":") { current!.append(line[..<colon].trimmingCharacters(in: .whitespaces)) }
            } else {
                blocks.append(["value"])
            }
        }
        return blocks
    }

    @Test func kamailioAndRespiteAnswerKamcmdWithTheSameShapes() throws {
        let directory = try Spawn.scratchDirectory("rpc-shape")
        let kamailioSocket = directory.appendingPathComponent("kamailio.ctl").path
        let kamailio = try KamailioServer(config: Self.config, replacements: ["SOCKET": kamailioSocket], directory: directory)
        let kamailioPort = kamailio.port
        let respiteSocket = directory.appendingPathComponent("respite.ctl").path
        let respite = try ServerProcess(config: Self.config.replacingOccurrences(of: "SOCKET", with: respiteSocket))
        defer { _ = respite.stop() }
        func kamcmd(_ socket: String, _ args: [String]) throws -> String {
            try Spawn.run("/usr/sbin/kamcmd", ["-s", "unix:" + socket] + args, timeout: 10).stdout
        }
        #expect(waitUntil(timeout: 10, interval: 0.1) { (try? kamcmd(kamailioSocket, ["core.uptime"]))?.contains("uptime") == true },
                "Kamailio did not start: \(kamailio.log)")
        for call in [["core.psx"], ["tm.stats"], ["core.shmmem"], ["core.uptime"], ["sl.stats"], ["core.version"],
                     ["stats.get_statistics", "tm:"], ["cfg.get", "core", "debug"], ["htable.sets", "t", "k", "v"],
                     ["htable.get", "t", "k"], ["htable.dump", "t"], ["system.methodHelp", "core.psx"], ["no.such.method"]] {
            let k = try kamcmd(kamailioSocket, call), r = try kamcmd(respiteSocket, call)
            var kShape = Self.shape(k), rShape = Self.shape(r)
            if call == ["core.psx"] {
                // The processes differ (Kamailio has slow timers, Respite DNS Workers): each
                // block has the same members.
                kShape = Array(Set(kShape)).sorted { $0.joined() < $1.joined() }
                rShape = Array(Set(rShape)).sorted { $0.joined() < $1.joined() }
            }
            if call.first == "stats.get_statistics" {
                // One line per statistic: the same names.
                #expect(Set(k.split(separator: "\n").map { $0.split(separator: "=")[0] })
                        == Set(r.split(separator: "\n").map { $0.split(separator: "=")[0] }), "\(call)\nKamailio:\n\(k)\nRespite:\n\(r)")
                continue
            }
            #expect(kShape == rShape, "\(call)\nKamailio:\n\(k)\nRespite:\n\(r)")
        }

        // JSON-RPC over HTTP and the metrics page, from both.
        let rpc = #"{"jsonrpc":"2.0","method":"core.version","id":1}"#
        let post = "POST /RPC HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(rpc.utf8.count)\r\n\r\n" + rpc
        let metrics = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
        for (name, port, version) in [("Kamailio", kamailioPort, "kamailio 5.6.3"), ("Respite", respite.port, "respite 0.1.0")] {
            let answer = try Self.http(port: port, post)
            #expect(answer.status == "HTTP/1.1 200 OK" && answer.body.contains("\"result\":\t\"\(version)"), "\(name): \(answer)")
            let page = try Self.http(port: port, metrics)
            #expect(page.status == "HTTP/1.1 200 OK", "\(name): \(page.status)")
            for metric in ["kamailio_core_rcv_requests ", "kamailio_sl_200_replies "] {
                #expect(page.body.contains("\n" + metric) || page.body.hasPrefix(metric), "\(name) has no \(metric)")
            }
        }
        let ours = try Self.http(port: respite.port, metrics).body
        #expect(throws: Never.self) { try PrometheusFormat.check(ours) }
        for gauge in ["respite_arena_used_bytes ", "respite_processes "] { #expect(ours.contains("\n" + gauge)) }
    }
}
