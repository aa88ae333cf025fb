import Foundation
import Testing
import TestSupport

/// The core's `log()` and kex's `pv_printf`, on Respite and on Kamailio 5.6.3 with the same
/// config: the same script log lines, the same reply built from pv_printf's variable.
@Suite(.serialized) struct CoreLogFunctionTests {
    static let config = """
    #!KAMAILIO
    debug=3
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "kex.so"
    request_route {
        log("no level: never shown\\n");
        log(0, "warning $rU\\n");
        log(1, "notice\\n");
        log(2, "info\\n");
        log(3, "debug\\n");
        pv_printf("$var(x)", "user=$rU");
        sl_send_reply("200", "$var(x)");
    }
    """

    static func options() -> [UInt8] {
        Array(("OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-log;rport\r\n"
            + "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: log-1\r\nCSeq: 1 OPTIONS\r\n"
            + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").utf8)
    }

    static func statusLine(port: UInt16) throws -> String {
        try LoopbackUDPSocket.firstReplyLines(options(), port: port)?.first ?? "(no reply)"
    }

    /// The `<script>` lines of a log, without the process prefix (`1(123) `).
    static func scriptLines(_ log: String) -> [String] {
        log.components(separatedBy: "\n").filter { $0.contains("<script>") }
            .map { line in line.range(of: ") ").map { String(line[$0.upperBound...]) } ?? line }
    }

    @Test func logLinesAndPvPrintfMatchKamailio() throws {
        let kamailio = try KamailioServer(config: Self.config)
        let kamailioPort = kamailio.port
        let respite = try ServerProcess(config: Self.config)
        defer { _ = respite.stop() }
        #expect(waitUntil(timeout: 10, interval: 0.1) { (try? Self.statusLine(port: kamailioPort))?.hasPrefix("SIP/2.0 200") == true })
        #expect(try Self.statusLine(port: respite.port) == "SIP/2.0 200 user=bob")
        let expected = ["WARNING: <script>: warning $rU", "NOTICE: <script>: notice", "INFO: <script>: info", "DEBUG: <script>: debug"]
        #expect(waitUntil(timeout: 5, interval: 0.1) { Self.scriptLines(respite.log).count >= 4 })
        #expect(Array(Self.scriptLines(respite.log).prefix(4)) == expected)
        #expect(Array(Self.scriptLines(kamailio.log).prefix(4)) == expected, "\(kamailio.log.suffix(800))")
    }
    /// `log_prefix` is made from the message as it arrived, as in Kamailio: with `$rU` in
    /// it (the script may change it), at once; with only what the received message holds,
    /// when the first line is logged, and still from the message as it arrived after
    /// `msg_apply_changes` replaced it.
    @Test(arguments: [("[$ci $rU] ", "[log-1 bob] "), ("[$ci $hdr(X-A)] ", "[log-1 <null>] ")])
    func logPrefixIsTheMessageAsItArrived(prefix: String, shown: String) throws {
        let config = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        log_prefix="\(prefix)"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "textopsx.so"
        loadmodule "xlog.so"
        request_route {
            $rU = "carol";
            append_hf("X-A: added\\r\\n");
            msg_apply_changes();
            xlog("L_NOTICE", "X-A=$hdr(X-A)\\n");
            sl_send_reply("200", "OK");
        }
        """
        let kamailio = try KamailioServer(config: config)
        let kamailioPort = kamailio.port
        let respite = try ServerProcess(config: config)
        defer { _ = respite.stop() }
        #expect(waitUntil(timeout: 10, interval: 0.1) { (try? Self.statusLine(port: kamailioPort))?.hasPrefix("SIP/2.0 200") == true })
        #expect(try Self.statusLine(port: respite.port) == "SIP/2.0 200 OK")
        let expected = "NOTICE: \(shown)<script>: X-A=added"
        let ours = { Self.scriptLines(respite.log).first { $0.contains("[log-1 ") } }
        #expect(waitUntil(timeout: 5, interval: 0.1) { ours() != nil })
        #expect(ours() == expected, "\(respite.log.suffix(800))")
        #expect(Self.scriptLines(kamailio.log).first { $0.contains("[log-1 ") } == expected, "\(kamailio.log.suffix(800))")
    }
}
