import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIPp as caller and callee with `respite` as the stateful proxy in between: every
/// request of every call (INVITE, ACK, BYE) goes through t_relay.
@Suite(.serialized) struct ProxyLoadTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    request_route {
        if (is_method("ACK")) {
            if (t_check_trans()) { t_relay(); exit; }
            t_relay();
            exit;
        }
        if (is_method("CANCEL")) {
            if (t_check_trans()) { t_relay(); }
            exit;
        }
        if (!t_relay()) { sl_send_reply("500", "relay failed"); }
    }
    """

    @Test func sippCallsThroughTheProxyComplete() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/sipp") else {
            Issue.record("sipp is missing: make test installs sip-tester")
            return
        }
        // The config relays every request, a readiness ping too: wait for the processes only.
        let server = try ServerProcess(config: Self.config, children: 2, readiness: .processesStarted)
        defer { server.stop() }
        let uasPort = try FreePort.udp(), uacPort = try FreePort.udp()
        let uasLog = FileManager.default.temporaryDirectory.appendingPathComponent("respite-uas-\(getpid()).log")
        defer { try? FileManager.default.removeItem(at: uasLog) }
        let uas = try Spawn.start("/usr/bin/sipp", ["-sn", "uas", "-i", "127.0.0.1", "-p", String(uasPort), "-nostdin"],
                                  stdoutPath: uasLog.path, stderrPath: uasLog.path, directory: "/tmp")
        defer { uas.stop(timeout: 0) }
        try #require(waitUntil(timeout: 10) { FreePort.isUDPBound(uasPort) || !uas.isRunning } && uas.isRunning,
                     "the SIPp UAS listens on \(uasPort)")
        let run = try Spawn.run("/usr/bin/sipp", [
            "-sn", "uac", "127.0.0.1:\(uasPort)", "-rsa", "127.0.0.1:\(server.port)", "-i", "127.0.0.1",
            "-p", String(uacPort), "-m", "300", "-r", "60", "-timeout", "40", "-timeout_error", "-nostdin",
        ], timeout: 50)
        #expect(run.status == 0, "every call completed\n\(run.output.suffix(2500))\n\(server.log.suffix(1500))")
        // Every transaction ends: after wt_timer, the arena holds none.
        let shm = Products.path("respite-shm")
        var live = -1
        for _ in 0..<40 where live != 0 {
            usleep(250_000)
            let dump = try Spawn.run(shm, ["--shm-name", server.shmName, "--json"])
            if let object = try? JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any],
               let tx = object["transactions"] as? [String: Any], let n = tx["live"] as? Int {
                live = n
            }
        }
        #expect(live == 0, "no transaction left after wt_timer")
    }
}
