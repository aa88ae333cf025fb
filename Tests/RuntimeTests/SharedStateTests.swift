import Foundation
import SIP
import TestSupport
import Testing

/// What is private to a process and what every process shares, seen through replies.
@Suite(.serialized) struct SharedStateTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "htable.so"
    modparam("pv", "shvset", "base=i:1000")
    modparam("htable", "htable", "calls=>size=4;initval=0")
    request_route {
        usleep(2000);  # a little work, so one receiver cannot drain a whole burst alone
        $var(n) = $var(n) + 1;
        $shv(n) = $shv(n) + 1;
        $var(h) = $shtinc(calls=>count);
        $sht(calls=>last) = $ci;
        sl_send_reply("200", "pid $pp var $var(n) shv $shv(n) sht $var(h) base $shv(base)");
    }
    """

    struct Seen { var pid: Int; var variable: Int; var shared: Int; var table: Int; var base: Int }

    static func parse(_ reason: String) -> Seen? {
        let f = reason.split(separator: " ")
        guard f.count == 10, let pid = Int(f[1]), let v = Int(f[3]), let s = Int(f[5]), let t = Int(f[7]), let b = Int(f[9]) else { return nil }
        return Seen(pid: pid, variable: v, shared: s, table: t, base: b)
    }

    @Test func varIsPrivateWhileShvAndShtAreShared() throws {
        // Every request is counted ($var, $shv, $sht, the process table): no readiness ping.
        let server = try ServerProcess(config: Self.config, children: 2, readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        var seen: [Seen] = []
        // Bursts, so that both receivers are busy at once and both answer some.
        for _ in 0..<4 where Set(seen.map(\.pid)).count < 2 {
            let burst = (0..<40).map { _ in client.request("OPTIONS") }
            for r in burst { client.send(r) }
            while let reply = client.receive(timeout: 1.0) {
                if let s = Self.parse(reply.reasonPhrase) { seen.append(s) }
                if seen.count % 40 == 0 { break }
            }
        }
        let total = seen.count
        #expect(total >= 40)
        let pids = Set(seen.map(\.pid))
        #expect(pids.count == 2, "both receivers answered: \(pids)")
        // Shared: $shtinc is atomic, so every request got its own number; `$shv(n) =
        // $shv(n) + 1` is a read then a write (in Kamailio too), so two receivers may race,
        // but the value still grows past what any one process counted.
        #expect(Set(seen.map(\.table)) == Set(1...total))
        let mostByOneProcess = pids.map { pid in seen.filter { $0.pid == pid }.count }.max() ?? 0
        #expect((seen.map(\.shared).max() ?? 0) > mostByOneProcess)
        #expect(seen.allSatisfy { $0.base == 1000 }, "initial value from shvset")
        // Private: each process counts only what it handled itself.
        for pid in pids {
            let mine = seen.filter { $0.pid == pid }.map(\.variable).sorted()
            #expect(mine == Array(1...mine.count), "process \(pid) counted its own requests only")
        }
        // The dump tool sees the shared state of the running server.
        let dump = try Spawn.run(Products.path("respite-shm"),
                                 ["--shm-name", server.shmName])
        #expect(dump.status == 0, "\(dump.output)")
        #expect(dump.output.contains("$shv(base) = 1000"), "\(dump.output)")
        #expect(dump.output.contains("count = \(total)"))
        #expect(dump.output.contains("requests=\(seen.filter { $0.pid == Array(pids)[0] }.count)"))
    }
}
