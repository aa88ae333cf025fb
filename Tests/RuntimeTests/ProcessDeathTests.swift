import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A process killed while it holds a transaction leaves nothing behind: the master settles
/// what it held (its references dropped, the transaction answered 500 at once instead of
/// waiting for fr_timer), and the transaction and its memory go.
@Suite(.serialized) struct ProcessDeathTests {
    /// Each case parks a request in one kind of process (a 3 s usleep while it holds the
    /// transaction); the test kills that process there.
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    async_workers=1
    loadmodule "tm.so"
    loadmodule "tmx.so"
    loadmodule "sl.so"
    loadmodule "async.so"
    loadmodule "cfgutils.so"
    loadmodule "pv.so"
    modparam("tm", "fr_timer", 20000)
    modparam("tm", "wt_timer", 200)
    request_route {
        if ($rU == "task") { async_task_route("SLOW"); exit; }
        if ($rU == "ring") { async_route("SLOW", "1"); exit; }
        if ($rU == "receiver") { t_newtran(); usleep(3000000); t_reply("200", "late"); exit; }
        if ($rU == "timer") {
            t_set_fr(300, 300);
            t_on_failure("SLOW_FAILURE");
            t_suspend();
            exit;
        }
        sl_send_reply("404", "no test");
    }
    route[SLOW] { usleep(3000000); t_reply("200", "late"); }
    failure_route[SLOW_FAILURE] { usleep(3000000); t_reply("503", "late"); }
    """

    /// Sends `user`'s request, kills the process described `role` while it holds the
    /// transaction, and returns the final reply the client got.
    static func killWhileHolding(user: String, role: String) throws -> (reply: SIPMessage?, server: ServerProcess,
                                                                       baseline: Int, waited: TimeInterval) {
        let server = try ServerProcess(config: config, children: 1, readiness: .processesStarted)
        let baseline = try server.arenaSample().heldBytes
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("MESSAGE", user: user))
        let victim = try #require(try server.processes().first { $0.description.hasPrefix(role) })
        // Until the victim holds the transaction (its hold row shows it), then kill it there.
        let deadline = Date().addingTimeInterval(3)
        while try server.arenaSample().held(bySlot: victim.slot) == 0 && Date() < deadline { usleep(20_000) }
        #expect(try server.arenaSample().held(bySlot: victim.slot) > 0, "the \(role) holds the transaction\n\(server.log)")
        let killed = Date()
        kill(victim.pid, SIGKILL)
        var reply: SIPMessage?
        while reply == nil || reply!.statusCode < 200, Date().timeIntervalSince(killed) < 5 {
            reply = client.receive(timeout: 5)
        }
        return (reply, server, baseline, Date().timeIntervalSince(killed))
    }

    static func expectSettled(_ server: ServerProcess, baseline: Int) throws {
        var sample = try server.arenaSample()
        _ = try waitUntil(timeout: 5, interval: 0.05) {
            sample = try server.arenaSample()
            return sample.liveTransactions == 0 && sample.holdingSlots.isEmpty && sample.heldBytes == baseline
        }
        #expect(sample.liveTransactions == 0, "no transaction left live\n\(server.log)")
        #expect(sample.holdingSlots.isEmpty, "nothing held by anyone")
        #expect(sample.heldBytes == baseline, "the arena holds what it held before the request")
        #expect(server.log.contains("transaction references (dropped"), "the master says what it settled")
    }

    @Test(arguments: [
        ("task", "Async Task Worker - default"),
        ("ring", "ASYNC MOD TIMER"),
        ("receiver", "udp receiver"),
        ("timer", "timer"),
    ])
    func aProcessKilledHoldingATransactionLeavesNothing(user: String, role: String) throws {
        let (reply, server, baseline, waited) = try Self.killWhileHolding(user: user, role: role)
        defer { server.stop() }
        let final = try #require(reply, "a final reply after the kill\n\(server.log)")
        #expect(final.statusCode == 500, "answered 500 at once, not 408 at fr_timer: \(final.statusCode) \(final.reasonPhrase)")
        #expect(waited < 3, "answered within a second or two of the death, not at fr_timer (20 s)")
        try Self.expectSettled(server, baseline: baseline)
        // And the restarted process serves.
        let client = try SIPTestClient(server: server.port)
        let next = try #require(client.exchange(client.request("OPTIONS", user: "nobody"), timeout: 3))
        #expect(next.statusCode == 404)
    }
}
