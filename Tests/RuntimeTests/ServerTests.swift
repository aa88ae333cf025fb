import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

let basicConfig = """
#!KAMAILIO
debug=2
log_stderror=yes
listen=udp:127.0.0.1:PORT
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
request_route {
    if ($rm == "OPTIONS") {
        sl_send_reply("200", "OK pid $pp");
        exit;
    }
    if ($rU == "silent") { exit; }
    sl_send_reply("404", "Not Here");
}
"""

@Suite(.serialized) struct ServerTests {
    @Test func checkModeAcceptsAGoodConfigAndRejectsABadOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-c-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.cfg"), bad = dir.appendingPathComponent("bad.cfg")
        try basicConfig.replacingOccurrences(of: "PORT", with: "5060").write(to: good, atomically: true, encoding: .utf8)
        try "#!KAMAILIO\nloadmodule \"sl.so\"\nrequest_route {\n  sl_send_reply(\"200\");\n  t_relay();\n  nosuch_function();\n}\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let respite = Products.path("respite")
        let ok = try Spawn.run(respite, ["-c", "-f", good.path])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("config file ok"))
        let ko = try Spawn.run(respite, ["-c", "-f", bad.path])
        #expect(ko.status == 1)
        #expect(ko.output.contains("bad.cfg:4:"), "wrong argument count, with file:line:column\n\(ko.output)")
        #expect(ko.output.contains("bad.cfg:5:") && ko.output.contains("tm"), "t_relay without loadmodule tm\n\(ko.output)")
        #expect(ko.output.contains("bad.cfg:6:") && ko.output.contains("nosuch_function"), "\(ko.output)")
    }

    @Test func answersOptionsWithAToTagFromAReceiverProcess() throws {
        let server = try ServerProcess(config: basicConfig)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let reply = try #require(client.exchange(client.request("OPTIONS")), "no reply\n\(server.log)")
        #expect(reply.statusCode == 200)
        #expect(reply.to.tag != nil)
        #expect(reply.topVia.port == Int(client.port))
        #expect(reply.headerValue("Server")?.hasPrefix("Respite") == true)
        let pid = Int32(reply.reasonPhrase.split(separator: " ").last ?? "") ?? 0
        #expect(pid != 0 && pid != server.pid, "a receiver, not the master, answered")
        let other = try #require(client.exchange(client.request("MESSAGE")))
        #expect(other.statusCode == 404 && other.reasonPhrase == "Not Here")
        // A script that ends without a reply sends nothing, as in Kamailio.
        client.send(client.request("MESSAGE", user: "silent"))
        #expect(client.receive(timeout: 0.3) == nil)
    }

    @Test func malformedRequestsGet400Or505AndGarbageIsDropped() throws {
        let server = try ServerProcess(config: basicConfig)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let noLength = client.request("OPTIONS").replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 40")
        let r400 = try #require(client.exchange(noLength))
        #expect(r400.statusCode == 400)
        #expect(r400.reasonPhrase.hasPrefix("Bad Request"))
        let v3 = client.request("OPTIONS").replacingOccurrences(of: "SIP/2.0\r\nVia", with: "SIP/3.0\r\nVia")
        #expect(client.exchange(v3)?.statusCode == 505)
        client.send("this is not SIP at all\r\n\r\n")
        client.send([UInt8](repeating: 0, count: 300))
        #expect(client.receive(timeout: 0.3) == nil)
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200, "still serving")
        #expect(server.log.contains("dropped"))
    }

    @Test func aKilledReceiverIsRestartedAndShutdownLeavesNothingBehind() throws {
        let server = try ServerProcess(config: basicConfig, children: 1)
        let client = try SIPTestClient(server: server.port)
        let first = try #require(client.exchange(client.request("OPTIONS")))
        let receiver = Int32(first.reasonPhrase.split(separator: " ").last ?? "") ?? 0
        #expect(receiver > 0)
        kill(receiver, SIGKILL)
        var replaced: Int32 = 0
        for _ in 0..<50 where replaced == 0 || replaced == receiver {
            usleep(100_000)
            if let r = client.exchange(client.request("OPTIONS"), timeout: 0.5) {
                replaced = Int32(r.reasonPhrase.split(separator: " ").last ?? "") ?? 0
            }
        }
        #expect(replaced != 0 && replaced != receiver, "a new receiver answers\n\(server.log)")
        #expect(server.log.contains("restarting"))

        let status = server.stop()
        #expect(status == .exited(0), "master exits 0 on SIGTERM")
        #expect(server.survivors.isEmpty, "no process of the group outlived the master: \(server.survivors)")
        #expect(server.groupMembers.isEmpty, "no process left")
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + server.shmName), "arena unlinked")
    }
}
