import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The 49 RFC 4475 torture messages sent over UDP to a running server: none may crash a
/// process; each is answered, rejected with 400/505 or dropped as its class says.
@Suite(.serialized) struct TortureTests {
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SIPTests/Fixtures/rfc4475")
    }

    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    request_route {
        xnotice("torture: handled $rm $ci\\n");
        if ($rm == "ACK") { exit; }
        sl_send_reply("200", "OK");
    }
    """

    @Test func everyTortureMessageIsHandledWithoutACrash() throws {
        // Handled requests are counted in the log: no readiness ping.
        let server = try ServerProcess(config: Self.config, children: 2, readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".dat") }.sorted()
        #expect(files.count == 49)
        var expectHandled = 0, expectRejected: [Int: Int] = [:], expectDropped = 0
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(file)))
            // What the server must do follows from how the message parses (the SIP tests
            // check the classification against the RFC); here we check the server acts on it.
            do {
                let m = try SIPMessage.parse(bytes)
                if m.isRequest { expectHandled += 1 }
            } catch {
                if let p = error.partial, p.isRequest { expectRejected[error.replyStatus, default: 0] += 1 } else { expectDropped += 1 }
            }
            client.send(bytes)
            usleep(5_000)
        }
        usleep(300_000)
        // Still serving, with every receiver alive and never restarted.
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200)
        let log = server.log
        #expect(!log.contains("restarting"), "\(log)")
        #expect(log.components(separatedBy: "torture: handled").count - 1 == expectHandled + 1, "\(log)")
        #expect(expectRejected[505] == 1, "badvers")
        // Every malformed one is counted; its log line may be held back by the rate limit
        // (10 per source and second in each receiver), and is counted then too.
        let counters = try MalformedFloodTests.counters(server)
        let malformed = expectRejected.values.reduce(0, +) + expectDropped
        #expect(counters["parse_errors"] == malformed && counters["dropped"] == expectDropped)
        let lines400 = log.components(separatedBy: "answered 400").count - 1
        let lines505 = log.components(separatedBy: "answered 505").count - 1
        let linesDropped = log.components(separatedBy: ") dropped").count - 1
        #expect(lines400 <= expectRejected[400, default: 0] && lines505 <= 1 && linesDropped <= expectDropped)
        #expect(lines400 + lines505 + linesDropped + counters["log_suppressed", default: 0] == malformed, "\(log)")
    }

    @Test func sippDrivesOptionsWithZeroFailures() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/sipp") else {
            Issue.record("sipp is missing: make test installs sip-tester")
            return
        }
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "xnotice(", with: "xdbg("), children: 2,
                                       readiness: .processesStarted)
        defer { server.stop() }
        let scenario = Bundle.module.resourceURL!.appendingPathComponent("Configs/sipp-options.xml").path
        let run = try Spawn.run("/usr/bin/sipp", [
            "-sf", scenario, "127.0.0.1:\(server.port)", "-i", "127.0.0.1", "-p", String(try FreePort.udp()),
            "-m", "1500", "-r", "300", "-timeout", "30", "-timeout_error", "-nostdin",
        ], timeout: 40)
        // SIPp exits 0 only when every call succeeded (1 when some failed, 99 on its own errors).
        #expect(run.status == 0, "sipp exit \(run.status)\n\(run.output.suffix(3000))")
        #expect(server.log.components(separatedBy: "answered").count == 1, "no request was malformed")
    }
}
