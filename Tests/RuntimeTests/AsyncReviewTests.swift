import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Cases a code review found: an explicit t_newtran before an async call, an async call in
/// a failure route, and transactions a script creates and leaves.
@Suite(.serialized) struct AsyncReviewTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    async_workers=2
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "async.so"
    modparam("tm", "wt_timer", 300)
    modparam("async", "ms_timer", 5)
    request_route {
        if ($rU == "newtran") {
            t_newtran();
            async_task_route("RESUME");
            exit;
        }
        if ($rU == "newtran-relay") {
            t_newtran();
            $du = $hdr(X-Next);
            if (!t_relay()) { send_reply("500", "relay failed"); }
            exit;
        }
        if ($rU == "failure-async") {
            $du = $hdr(X-Next);
            t_set_fr(2000, 400);
            t_on_failure("RETRY");
            t_relay();
            exit;
        }
        if ($rU == "busy-then-wait") {
            $du = $hdr(X-Next);
            t_on_failure("WAIT");
            t_relay();
            exit;
        }
        if ($rU == "left") {
            t_newtran();
            exit;
        }
        sl_send_reply("404", "no test");
    }
    route[RESUME] {
        send_reply("200", "resumed $T_reply_code");
    }
    failure_route[WAIT] {
        t_set_fr(5000, 300);
        async_route("RESUME", "5");
    }
    failure_route[RETRY] {
        async_ms_route("RESUME", "50");
    }
    """

    @Test func aTransactionCreatedByTheScriptStillSuspendsAndRelays() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let resumed = try #require(client.exchange(client.request("MESSAGE", user: "newtran")), "\(server.log)")
        #expect(resumed.reasonPhrase.hasPrefix("resumed"))
        let uas = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "newtran-relay", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"]))
        let forwarded = try #require(uas.receive(timeout: 2), "t_relay after t_newtran relays\n\(server.log)")
        var out = MessageBuffer()
        ReplyBuilder.reply(to: forwarded, status: 202, reason: "Accepted", into: &out)
        uas.send(out.bytes)
        #expect(GoldenServerTests.finalReply(client, timeout: 2)?.statusCode == 202)
    }

    @Test func aFailureRouteMaySuspendAgain() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let silent = try SIPTestClient(server: server.port) // a next hop that never answers
        let start = Date()
        let reply = try #require(client.exchange(client.request("MESSAGE", user: "failure-async",
                                                                headers: ["X-Next: sip:127.0.0.1:\(silent.port)"]), timeout: 4),
                                 "\(server.log)")
        #expect(reply.statusCode == 200 && reply.reasonPhrase.hasPrefix("resumed"), "\(reply.statusCode) \(reply.reasonPhrase)")
        #expect(Date().timeIntervalSince(start) >= 0.4, "after the branch timed out, then the async wait")
    }

    @Test func aWaitThatTimesOutAnswers408NotAnEarlierBranchsReply() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let uas = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: "busy-then-wait", headers: ["X-Next: sip:127.0.0.1:\(uas.port)"]))
        let forwarded = try #require(uas.receive(timeout: 2))
        var out = MessageBuffer()
        ReplyBuilder.reply(to: forwarded, status: 486, reason: "Busy Here", into: &out)
        uas.send(out.bytes)
        let final = try #require(GoldenServerTests.finalReply(client, timeout: 3), "\(server.log)")
        #expect(final.statusCode == 408, "the suspended wait's fr_timer (300 ms) wins: \(final.statusCode) \(final.reasonPhrase)")
    }

    @Test func aTransactionLeftWithoutReplyIsReleased() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        for _ in 0..<20 { client.send(client.request("MESSAGE", user: "left")) }
        usleep(200_000)
        let shm = Products.path("respite-shm")
        var live = -1
        for _ in 0..<20 where live != 0 {
            usleep(200_000)
            let dump = try Spawn.run(shm, ["--shm-name", server.shmName, "--json"])
            if let object = try? JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any],
               let tx = object["transactions"] as? [String: Any] {
                live = tx["live"] as? Int ?? -1
            }
        }
        #expect(live == 0, "released at the end of the script, removed after wt_timer")
    }
}
