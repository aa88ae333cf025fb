import Foundation
import Script
import Testing
import TestSupport

@testable import Runtime

/// REGISTERs that break the registrar's limits, on Respite and on Kamailio 5.6.3 with the
/// same config: the same status, reason and P-Registrar-Error from both, and the refused
/// REGISTER changes nothing.
@Suite(.serialized) struct RegistrarLimitsTests {
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "sl.so"
    loadmodule "tm.so"
    loadmodule "pv.so"
    loadmodule "usrloc.so"
    loadmodule "registrar.so"
    modparam("registrar", "max_contacts", 2)
    modparam("registrar", "min_expires", 60)
    modparam("registrar", "max_expires", 600)
    request_route {
        if (!save("location")) { exit; }
    }
    """

    static func register(_ user: String, contacts: [String], expires: Int?, cseq: Int) -> [UInt8] {
        let lines = ["REGISTER sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-l\(user)\(cseq);rport",
                     "From: <sip:\(user)@127.0.0.1>;tag=l\(cseq)", "To: <sip:\(user)@127.0.0.1>",
                     "Call-ID: limits-\(user)", "CSeq: \(cseq) REGISTER", "Max-Forwards: 70"]
            + contacts.map { "Contact: \($0)" } + (expires.map { ["Expires: \($0)"] } ?? []) + ["Content-Length: 0"]
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// The status line, P-Registrar-Error, Min-Expires and the number of Contact values.
    static func answer(_ bytes: [UInt8], port: UInt16) throws -> String {
        guard let lines = try LoopbackUDPSocket.firstReplyLines(bytes, port: port) else { return "(no reply)" }
        let kept = lines.filter { $0.hasPrefix("P-Registrar-Error:") || $0.hasPrefix("Min-Expires:") }
        let contacts = lines.filter { $0.lowercased().hasPrefix("contact:") }
            .map { $0.components(separatedBy: ",").count }.reduce(0, +)
        return ([lines[0]] + kept + ["contacts=\(contacts)"]).joined(separator: " | ")
    }

    static let steps: [(String, [UInt8])] = [
        ("two contacts", register("ann", contacts: ["<sip:ann@127.0.0.1:7001>", "<sip:ann@127.0.0.1:7002>"], expires: 300, cseq: 1)),
        ("a third is one too many", register("ann", contacts: ["<sip:ann@127.0.0.1:7003>"], expires: 300, cseq: 2)),
        ("three at once", register("bea", contacts: ["<sip:bea@127.0.0.1:7001>, <sip:bea@127.0.0.1:7002>, <sip:bea@127.0.0.1:7003>"], expires: 300, cseq: 1)),
        ("refreshing one of two is fine", register("ann", contacts: ["<sip:ann@127.0.0.1:7001>"], expires: 300, cseq: 3)),
        ("the same REGISTER again is a retransmission", register("ann", contacts: ["<sip:ann@127.0.0.1:7001>"], expires: 300, cseq: 3)),
        ("an older CSeq is refused", register("ann", contacts: ["<sip:ann@127.0.0.1:7001>"], expires: 300, cseq: 2)),
        ("expires under min_expires", register("cid", contacts: ["<sip:cid@127.0.0.1:7001>"], expires: 10, cseq: 1)),
        ("expires over max_expires is capped", register("cid", contacts: ["<sip:cid@127.0.0.1:7001>"], expires: 90000, cseq: 2)),
        ("Contact that does not parse", register("dee", contacts: ["<sip:dee@127.0.0.1:7001"], expires: 300, cseq: 1)),
        ("Contact expires param out of range", register("eve", contacts: ["<sip:eve@127.0.0.1:7001>;expires=abc"], expires: nil, cseq: 1)),
        ("query: what stayed", register("ann", contacts: [], expires: nil, cseq: 4)),
    ]

    @Test func limitsGetKamailiosReplies() throws {
        let kamailio = try KamailioServer(config: Self.config)
        let kamailioPort = kamailio.port
        let respite = try ServerProcess(config: Self.config)
        defer { _ = respite.stop() }
        let probe = Self.register("probe", contacts: [], expires: nil, cseq: 1)
        #expect(waitUntil(timeout: 10, interval: 0.1) { (try? Self.answer(probe, port: kamailioPort))?.hasPrefix("SIP/2.0 200") == true })
        for (name, bytes) in Self.steps {
            let k = try Self.answer(bytes, port: kamailioPort), r = try Self.answer(bytes, port: respite.port)
            #expect(k == r, "\(name): Kamailio \(k), Respite \(r)")
        }
        #expect(try Self.answer(Self.steps[1].1, port: respite.port).hasPrefix("SIP/2.0 503"))
        #expect(try Self.answer(Self.steps[4].1, port: respite.port).hasPrefix("SIP/2.0 200"), "a retransmission")
    }
}

/// The location table's size: buckets follow contacts_max so that chains stay short.
@Suite struct UsrlocBucketTests {
    static func bits(_ params: String) throws -> Int {
        let text = "loadmodule \"usrloc.so\"\n\(params)request_route { exit; }\n"
        let loader = ScriptLoader(registry: RuntimeRegistry.make(), readFile: { _ in nil })
        let result = loader.load(text: text, name: "t.cfg")
        let program = try #require(result.program, "\(result.diagnostics.rendered())")
        return UsrlocSettings(program.settings).bucketBits
    }

    @Test func bucketsGrowWithTheTable() throws {
        #expect(try Self.bits("") == 13, "65,536 contacts: 8,192 buckets")
        #expect(try Self.bits("modparam(\"usrloc\", \"contacts_max\", 6)\n") == 10, "hash_size's 2^10 at least")
        #expect(try Self.bits("modparam(\"usrloc\", \"hash_size\", 15)\n") == 15)
        #expect(try Self.bits("modparam(\"usrloc\", \"contacts_max\", 10000000)\n") == 20)
    }
}
