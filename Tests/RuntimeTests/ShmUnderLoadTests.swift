import Foundation
import TestSupport
import Testing

/// respite-shm on a server under load: every transaction arms and fires tm timers while
/// the tool walks the wheel and the table without a lock. What moves under it is read
/// again or shown as approximate, never reported as corruption (exit 3).
@Suite(.serialized) struct ShmUnderLoadTests {
    /// The stateful benchmark's script: each request is a transaction, its wait timer
    /// armed for wt_timer after the reply, so the tm wheel holds thousands of links and
    /// changes thousands of times a second.
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "sl.so"
    request_route {
        t_newtran();
        t_reply("200", "OK");
        exit;
    }
    """

    @Test func everySampleExitsZeroWhileLoadRuns() throws {
        let server = try ServerProcess(config: Self.config, children: 2)
        defer { server.stop() }
        let load = UDPLoad(port: server.port, rate: 2_500, seconds: 4)
        var samples = 0, approximate = 0
        var failures: [String] = []
        // Text and JSON in turn, as long as requests are being sent.
        while load.isSending {
            let json = samples % 2 == 1
            let r = try Products.run("respite-shm", ["--shm-name", server.shmName] + (json ? ["--json"] : []), timeout: 20)
            samples += 1
            if r.status != 0 {
                let problems = r.stdout.components(separatedBy: "\nproblems\n").dropFirst().first ?? String(r.stdout.suffix(600))
                failures.append("sample \(samples) exited \(r.status): \(problems) \(r.stderr)")
            }
            if json, let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
               let wheels = object["wheels"] as? [[String: Any]],
               wheels.contains(where: { $0["name"] as? String == "tm" && $0["approximate"] as? Bool == true }) {
                approximate += 1
            }
        }
        let result = load.wait()
        #expect(failures.isEmpty, "\(failures.count) of \(samples) samples failed:\n\(failures.prefix(3).joined(separator: "\n"))")
        #expect(samples >= 4, "sampled all along the load")
        #expect(result.sent >= 5_000 && result.answered >= 1_000, "the load reached the server: \(result)")
        #expect(approximate > 0, "the wheel moved under the reader (so the samples tested something)")
        // After the load, while the wait timers still fire.
        let after = try Products.run("respite-shm", ["--shm-name", server.shmName], timeout: 20)
        #expect(after.status == 0, "\(after.stdout.suffix(600))")
    }
}
