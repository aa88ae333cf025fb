import Foundation
import Testing
import TestSupport

/// sanity_check as the stock kamailio.cfg calls it (`sanity_check("17895", "7")`, autodrop
/// off), against Kamailio 5.6.3 on the same config: the same malformed requests get the
/// same status and reason from both.
@Suite(.serialized) struct SanityTests {
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "sanity.so"
    modparam("sanity", "autodrop", 0)
    modparam("sanity", "proxy_require", "ours")
    request_route {
        if ($rU == "pr" && !sanity_check("512")) { exit; }
        if (!sanity_check("17895", "7")) { exit; }
        sl_send_reply("200", "Sane");
    }
    """

    static func request(ruri: String = "sip:a@127.0.0.1", cseq: String = "1 OPTIONS", from: String = "<sip:b@127.0.0.1>;tag=1",
                        to: String = "<sip:a@127.0.0.1>", extra: [String] = [], body: String = "", contentLength: Int? = nil) -> [UInt8] {
        let id = UInt32.random(in: 0...UInt32.max)
        let lines = ["OPTIONS \(ruri) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-s\(id);rport",
                     "From: \(from)", "To: \(to)", "Call-ID: sanity-\(id)", "CSeq: \(cseq)", "Max-Forwards: 70"]
            + extra + ["Content-Length: \(contentLength ?? body.utf8.count)"]
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    static let cases: [(String, [UInt8])] = [
        ("sane", request()),
        ("body longer than Content-Length", request(body: "abcd", contentLength: 2)),
        ("Expires not a number", request(extra: ["Expires: abc"])),
        ("Expires empty", request(extra: ["Expires: "])),
        ("Expires past 32 bits", request(extra: ["Expires: 4294967297"])),
        ("Expires one past 32 bits (Kamailio lets it through)", request(extra: ["Expires: 4294967296"])),
        ("unknown R-URI scheme", request(ruri: "http://x.example/")),
        ("To URI that does not parse", request(to: "<sip:@>")),
        ("From URI that does not parse", request(from: "<sip:b@[::1>;tag=1")),
        ("Proxy-Require we do not know", request(ruri: "sip:pr@127.0.0.1", extra: ["Proxy-Require: ours, theirs"])),
        ("Proxy-Require we know", request(ruri: "sip:pr@127.0.0.1", extra: ["Proxy-Require: ours"])),
        ("two From tags (not a default check)", request(from: "<sip:b@127.0.0.1>;tag=1;tag=2")),
    ]

    /// The status line and any Unsupported header of the reply to `bytes`.
    static func answer(_ bytes: [UInt8], port: UInt16) throws -> String {
        guard let lines = try LoopbackUDPSocket.firstReplyLines(bytes, port: port) else { return "(no reply)" }
        return ([lines[0]] + lines.filter { $0.hasPrefix("Unsupported:") }).joined(separator: " | ")
    }

    @Test func malformedRequestsGetKamailiosReplies() throws {
        let kamailio = try KamailioServer(config: Self.config)
        let kamailioPort = kamailio.port
        let respite = try ServerProcess(config: Self.config)
        defer { _ = respite.stop() }
        #expect(waitUntil(timeout: 10, interval: 0.1) { (try? Self.answer(Self.request(), port: kamailioPort))?.hasPrefix("SIP/2.0 200") == true })
        for (name, bytes) in Self.cases {
            let k = try Self.answer(bytes, port: kamailioPort), r = try Self.answer(bytes, port: respite.port)
            #expect(k == r, "\(name): Kamailio \(k), Respite \(r)")
        }
        #expect(try Self.answer(Self.cases[1].1, port: respite.port) == "SIP/2.0 400 Content-Length mis-match")
        #expect(try Self.answer(Self.cases[9].1, port: respite.port) == "SIP/2.0 420 Bad Proxy Require Extension | Unsupported: theirs")
    }
}
