import Foundation
import SIP
import TestSupport
import Testing

/// A full arena makes requests fail cleanly: the script sees the failure and answers,
/// nothing crashes, and the memory comes back when the transactions end.
@Suite(.serialized) struct FullArenaTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    modparam("tm", "fr_timer", 1500)
    request_route {
        if ($rU == "ping") { sl_send_reply("200", "alive"); exit; }
        if (!t_suspend()) {
            sl_send_reply("503", "no room");
        }
        exit;
    }
    """

    @Test func suspendingUntilTheArenaIsFullFailsCleanly() throws {
        // 8 MB: a few thousand suspended transactions fill it.
        let server = try ServerProcess(config: Self.config, children: 2, extraArgs: ["-m", "8"])
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        var refused = 0, timedOut = 0
        for round in 0..<14 {
            for _ in 0..<500 { client.send(client.request("MESSAGE", user: "fill\(round)")) }
            while let r = client.receive(timeout: 0.05) {
                if r.statusCode == 503 { refused += 1 } else if r.statusCode == 408 { timedOut += 1 }
            }
        }
        #expect(refused > 0, "the arena filled up and the script answered 503\n\(server.log.suffix(500))")
        #expect(server.log.contains("no shared memory"))
        #expect(client.exchange(client.request("OPTIONS", user: "ping"))?.reasonPhrase == "alive")
        // fr_timer (1.5 s) answers every suspended one with 408 and frees it.
        while let r = client.receive(timeout: 3) { if r.statusCode == 408 { timedOut += 1 } }
        #expect(timedOut > 1000, "\(timedOut) answered 408")
        #expect(!server.log.contains("restarting"), "no process died")
    }
}
