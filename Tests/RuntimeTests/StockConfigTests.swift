import Foundation
import SIP
import Testing
import TestSupport

/// Debian's stock kamailio.cfg (Kamailio 5.6, installed by `make test`) run unchanged, with
/// no defines, on Kamailio 5.6.3 and on Respite: the same registrar and proxy exchanges get
/// the same answers, step by step.
@Suite(.serialized) struct StockConfigTests {
    static let stockConfig = "/etc/kamailio/kamailio.cfg"

    static func play(port: UInt16) throws -> [String] {
        var steps: [String] = []
        let alice = try SIPTestClient(server: port), caller = try SIPTestClient(server: port)
        let me = "127.0.0.1:\(port)"
        func line(_ m: SIPMessage?) -> String { m.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "no reply" }
        func request(_ client: SIPTestClient, _ method: String, _ ruri: String, from: String, to: String, extra: [String] = []) -> String {
            client.request(method, user: "x", headers: ["From: <\(from)>;tag=f\(client.port)", "To: <\(to)>"] + extra)
                .replacingOccurrences(of: "\(method) sip:x@127.0.0.1:\(port) SIP/2.0", with: "\(method) \(ruri) SIP/2.0")
        }
        let register = request(alice, "REGISTER", "sip:\(me)", from: "sip:alice@\(me)", to: "sip:alice@\(me)",
                               extra: ["Contact: <sip:alice@127.0.0.1:\(alice.port)>", "Expires: 300"])
        let registered = alice.exchange(register, timeout: 3)
        steps.append("REGISTER \(line(registered)) \(registered?.headerValue("Contact") ?? "")")
        steps.append("OPTIONS server " + line(caller.exchange(request(caller, "OPTIONS", "sip:\(me)", from: "sip:caller@\(me)", to: "sip:\(me)"), timeout: 3)))
        steps.append("INVITE unknown " + line(caller.exchange(request(caller, "INVITE", "sip:bob@\(me)", from: "sip:caller@\(me)", to: "sip:bob@\(me)"), timeout: 3)))
        steps.append("Max-Forwards 0 " + line(caller.exchange(request(caller, "OPTIONS", "sip:bob@\(me)", from: "sip:caller@\(me)", to: "sip:bob@\(me)",
                                                                   extra: ["Max-Forwards: 0"]), timeout: 3)))
        caller.send(request(caller, "INVITE", "sip:alice@\(me)", from: "sip:caller@\(me)", to: "sip:alice@\(me)"))
        guard let invite = alice.receive(timeout: 3), invite.isRequest else { return steps + ["INVITE did not reach alice"] }
        steps.append("INVITE reached alice: \(invite.requestURIString) Record-Route \(invite.headerValues("Record-Route"))")
        alice.send(SIPTestClient.reply(to: invite.bytes, "200 OK", extra: invite.headerValues("Record-Route").map { "Record-Route: \($0)" }
                                        + ["Contact: <sip:alice@127.0.0.1:\(alice.port)>"]))
        guard let ok = GoldenServerTests.finalReply(caller, timeout: 3) else { return steps + ["no 200 for the caller"] }
        steps.append("caller got \(line(ok)) Record-Route \(ok.headerValues("Record-Route"))")
        for (method, cseq) in [("ACK", 1), ("BYE", 2)] {
            let text = request(caller, method, "sip:alice@127.0.0.1:\(alice.port)", from: "sip:caller@\(me)", to: "sip:alice@\(me)",
                               extra: ["Call-ID: \(ok.callID)", "CSeq: \(cseq) \(method)"] + ok.headerValues("Record-Route").map { "Route: \($0)" })
                .replacingOccurrences(of: "To: <sip:alice@\(me)>", with: "To: <sip:alice@\(me)>;tag=callee")
            caller.send(text)
            let got = alice.receive(timeout: 3)
            steps.append("\(method) reached alice: \(got?.requestURIString ?? "nothing") Route \(got?.headerValues("Route") ?? [])")
        }
        return steps.map { $0.replacingOccurrences(of: String(port), with: "PORT")
                              .replacingOccurrences(of: String(alice.port), with: "ALICE") }
    }

    @Test func registrarAndProxyAnswerAsKamailio() throws {
        let directory = try Spawn.scratchDirectory("stock")
        let kamailio = try KamailioServer(configPath: Self.stockConfig, port: try FreePort.server(), directory: directory, listen: true)
        let kamailioPort = kamailio.port
        let log = kamailio.logURL.path
        let respitePort = try FreePort.server()
        let respiteLog = directory.appendingPathComponent("respite.log").path
        let respite = try Spawn.start(Products.path("respite"), ["-f", Self.stockConfig, "-l", "udp:127.0.0.1:\(respitePort)", "-DD", "-E",
                                                                 "-Y", directory.path, "--shm-name", "/respite-stock-\(getpid())"],
                                      stdoutPath: respiteLog, stderrPath: respiteLog)
        defer { _ = respite.stop() }
        for port in [kamailioPort, respitePort] {
            #expect(waitUntil(timeout: 10, interval: 0.1) {
                let probe = try? SIPTestClient(server: port)
                return probe?.exchange(probe!.request("OPTIONS", user: "x").replacingOccurrences(of: "OPTIONS sip:x@", with: "OPTIONS sip:"), timeout: 0.3) != nil
            }, "\(port) never answered: \((try? String(contentsOfFile: port == kamailioPort ? log : respiteLog, encoding: .utf8)) ?? "")")
        }
        let k = try Self.play(port: kamailioPort), r = try Self.play(port: respitePort)
        #expect(k.count == 8 && k[0].hasPrefix("REGISTER 200 OK <sip:alice@127.0.0.1:ALICE>;expires=300") && k[1] == "OPTIONS server 200 Keepalive"
                && k[2] == "INVITE unknown 404 Not Found" && k[3] == "Max-Forwards 0 483 Too Many Hops"
                && k[4].contains("<sip:127.0.0.1:PORT;lr>") && k[7].hasPrefix("BYE reached alice: sip:alice@127.0.0.1:ALICE Route []"), "\(k)")
        #expect(k == r, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
        // acc logs the answered call (FLT_ACC), its line led by the stock log_prefix evaluated
        // for the message ({$mt $hdr(CSeq) $ci}: the 200 that answered it), on both servers.
        for (name, path) in [("Kamailio", log), ("Respite", respiteLog)] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let acc = text.split(separator: "\n").filter { $0.contains("ACC: transaction answered:") }
            #expect(acc.count == 1, "\(name): \(acc)")
            #expect(acc.contains { $0.contains("NOTICE: {2 1 INVITE ") && $0.contains("method=INVITE;") && $0.contains("code=200;reason=OK") },
                    "\(name): \(acc)")
        }
    }
}
