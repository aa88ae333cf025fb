import Foundation
import SIP
import Testing
import TestSupport

/// acc's log lines for flagged transactions, against Kamailio 5.6.3 running the same config
/// with the same exchanges: the lines after `ACC:` must be the same (timestamps aside).
@Suite(.serialized) struct AccTests {
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    loadmodule "acc.so"
    modparam("acc", "log_flag", 1)
    modparam("acc", "log_missed_flag", 2)
    modparam("acc", "failed_transaction_flag", 3)
    modparam("acc", "log_extra", "src_user=$fU;src_domain=$fd;src_ip=$si;dst_ouser=$tU;dst_user=$rU;dst_domain=$rd")
    request_route {
        if (is_method("ACK")) { t_relay(); exit; }
        setflag(1);
        if ($rU != "nomiss") { setflag(2); }
        if ($rU == "failed") { setflag(3); }
        $du = $hdr(X-Next);
        t_relay();
    }
    """

    /// Plays the exchanges against a server on `port` with `uas` as the callee; returns the
    /// ACC lines the server logged, from "ACC:" on, timestamps removed.
    static func play(port: UInt16, log: () -> String) throws -> [String] {
        let client = try SIPTestClient(server: port)
        let uas = try SIPTestClient(server: port)
        for (method, user, status) in [("MESSAGE", "bob", 200), ("MESSAGE", "bob", 404), ("MESSAGE", "failed", 404),
                                       ("INVITE", "failed", 486), ("INVITE", "nomiss", 486)] {
            let callID = "acc-\(method)-\(user)-\(status)-\(UInt32.random(in: 0...UInt32.max))"
            client.send(client.request(method, user: user, headers: ["X-Next: sip:127.0.0.1:\(uas.port)"], callID: callID))
            var forwarded: SIPMessage?
            while let m = uas.receive(timeout: 2) { if m.isRequest && m.method.name == method { forwarded = m; break } }
            guard let request = forwarded else { throw Spawn.Failure("no \(method) reached the callee") }
            uas.send(SIPTestClient.reply(to: request.bytes, "\(status) \(status == 200 ? "OK" : status == 404 ? "Not Found" : "Busy Here")",
                                         extra: []))
            _ = GoldenServerTests.finalReply(client, timeout: 2)
        }
        _ = waitUntil(timeout: 2) { log().components(separatedBy: "ACC:").count > 6 }
        var lines: [String] = []
        for line in log().split(separator: "\n") {
            guard let at = line.range(of: "ACC:") else { continue }
            var text = String(line[at.lowerBound...])
            for pattern in [#"timestamp=\d+;"#, #"from_tag=[^;]*;"#, #"call_id=[^;]*;"#] {
                text = text.replacingOccurrences(of: pattern, with: "", options: String.CompareOptions.regularExpression)
            }
            lines.append(text)
        }
        return lines
    }

    @Test func flaggedTransactionsAreLoggedAsKamailioLogsThem() throws {
        let kamailio = try KamailioServer(config: Self.config)
        let kamailioPort = kamailio.port
        let respite = try ServerProcess(config: Self.config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        _ = waitUntil(timeout: 5) { FreePort.isUDPBound(kamailioPort) }
        let k = try Self.play(port: kamailioPort) { kamailio.log }
        let r = try Self.play(port: respite.port) { respite.log }
        #expect(k.count == 4, "\(k)")
        // The same lines; their order across transactions is not compared: Respite's two
        // receivers may write one transaction's line after the next one's on a busy machine.
        #expect(k.sorted() == r.sorted(), "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }
}
