import Foundation
import SIP
import Testing
import TestSupport

/// Debian's stock kamailio.cfg with its documented database edit (db_mysql.so replaced by
/// db_sqlite.so) and WITH_MYSQL, WITH_AUTH and DBURL defined, on a SQLite file made from
/// Kamailio's schema files: REGISTER and INVITE are challenged, answered and relayed the
/// same way by Kamailio 5.6.3 and Respite.
@Suite(.serialized) struct StockAuthTests {
    /// The stock config with the defines `-A` would give, written after its first line.
    static func config(dbPath: String) throws -> String {
        let stock = try String(contentsOfFile: StockConfigTests.stockConfig, encoding: .utf8)
            .replacingOccurrences(of: "loadmodule \"db_mysql.so\"", with: "loadmodule \"db_sqlite.so\"")
        var lines = stock.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.insert(contentsOf: ["#!define WITH_MYSQL", "#!define WITH_AUTH", "#!define DBURL \"sqlite:///\(dbPath)\""], at: 1)
        return lines.joined(separator: "\n")
    }

    static func play(port: UInt16) throws -> [String] {
        let me = "127.0.0.1:\(port)"
        let alice = AuthDigestClient(sip: try SIPTestClient(server: port), domain: me)
        let bob = AuthDigestClient(sip: try SIPTestClient(server: port), domain: me)
        var steps: [String] = []
        func step(_ name: String, _ client: AuthDigestClient, _ text: String) -> SIPMessage? {
            let reply = client.sip.exchange(text, timeout: 3)
            steps.append("\(name): \(AuthDigestClient.describe(reply))")
            return reply
        }
        let contact = "Contact: <sip:bob@127.0.0.1:\(bob.sip.port)>"
        guard let first = step("bob REGISTER", bob, bob.request("REGISTER", user: "bob", extra: [contact, "Expires: 300"])),
            let challenge = AuthDigestClient.challenge(of: first)
        else { return steps }
        let wrong = AuthDigestClient.credentials(
            user: "bob", password: "nope", challenge: challenge, method: "REGISTER", uri: bob.uri("bob"))
        _ = step("bob wrong password", bob, bob.request("REGISTER", user: "bob", extra: [wrong, contact, "Expires: 300"]))
        let good = AuthDigestClient.credentials(
            user: "bob", password: "bobpw", challenge: challenge, method: "REGISTER", uri: bob.uri("bob"))
        let registered = step("bob answered", bob, bob.request("REGISTER", user: "bob", extra: [good, contact, "Expires: 300"]))
        steps.append("bound: \(registered?.headerValue("Contact") ?? "none")")

        guard let invite = step("alice INVITE bob", alice, alice.request("INVITE", user: "alice", target: "bob")),
            let proxy = AuthDigestClient.challenge(of: invite)
        else { return steps }
        let answer = AuthDigestClient.credentials(
            "Proxy-Authorization", user: "alice", password: "secret1", challenge: proxy, method: "INVITE", uri: alice.uri("bob"))
        let callID = "stock-auth-\(UInt32.random(in: 0...UInt32.max))"
        alice.sip.send(alice.request("INVITE", user: "alice", target: "bob", extra: [answer], callID: callID))
        guard let reached = SerialForkingTests.next("INVITE", at: bob.sip, timeout: 3) else { return steps + ["bob: no INVITE"] }
        let consumed = reached.headerValue("Proxy-Authorization") == nil
        steps.append("bob got INVITE \(reached.requestURIString), credentials \(consumed ? "consumed" : "still there")")
        bob.sip.send(SIPTestClient.reply(to: reached.bytes, "486 Busy Here"))
        let final = DNSWorkerTests.finalReply(alice.sip, callID: callID, timeout: 3)
        steps.append("alice got \(final.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "nothing")")
        return steps.map {
            $0.replacingOccurrences(of: String(port), with: "PORT").replacingOccurrences(of: String(bob.sip.port), with: "BOB")
        }
    }

    @Test func stockConfigChallengesAndAcceptsAsKamailio() throws {
        let db = try AuthTests.subscriberFile()
        defer { try? FileManager.default.removeItem(at: db.dir) }
        let directory = try Spawn.scratchDirectory("stock-auth")
        let path = directory.appendingPathComponent("kamailio.cfg").path
        try Self.config(dbPath: db.path).write(toFile: path, atomically: true, encoding: .utf8)
        let kamailio = try KamailioServer(configPath: path, port: try FreePort.server(), directory: directory, listen: true)
        defer { kamailio.stop() }
        let respitePort = try FreePort.server()
        let respiteLog = directory.appendingPathComponent("respite.log").path
        let respite = try Spawn.start(
            Products.path("respite"),
            ["-f", path, "-l", "udp:127.0.0.1:\(respitePort)", "-DD", "-E", "-Y", directory.path,
             "--shm-name", "/respite-stock-auth-\(getpid())"],
            stdoutPath: respiteLog, stderrPath: respiteLog)
        defer { _ = respite.stop() }
        for port in [kamailio.port, respitePort] {
            #expect(waitUntil(timeout: 10, interval: 0.1) { FreePort.isUDPBound(port) })
        }
        Thread.sleep(forTimeInterval: 0.5)
        let k = try Self.play(port: kamailio.port)
        let r = try Self.play(port: respitePort)
        #expect(k.contains("bob got INVITE sip:bob@127.0.0.1:BOB, credentials consumed"), "\(k)\n\(kamailio.log)")
        #expect(k.last == "alice got 486 Busy Here", "\(k)")
        let respiteText = (try? String(contentsOfFile: respiteLog, encoding: .utf8)) ?? ""
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))\n\(respiteText.suffix(3000))")
    }
}
