import Foundation
import TestSupport
import Testing

/// A flood of malformed datagrams: each receiver logs the first 10 per source and
/// window (a second), then one summary line with exact counts; the process table counts
/// every datagram (`parse_errors`) and every line held back (`log_suppressed`).
@Suite(.serialized) struct MalformedFloodTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    request_route {
        sl_send_reply("200", "OK");
    }
    """
    /// Lines per source, window and receiver (LogRateLimiter's default).
    static let perSource = 10

    /// What the server made of a flood.
    struct Outcome {
        /// Seconds from the first datagram sent until the server had counted the last.
        var seconds: Double
        /// The per-datagram lines, as (writer pid, source host).
        var lines: [(pid: String, host: String)]
        /// The summary lines, as (writer pid, total, count per source).
        var summaries: [(pid: String, total: Int, sources: [String: Int])]
        var counters: [String: Int]
    }

    /// Sends `total` malformed datagrams from the loopback `hosts` in turn (half of them
    /// requests that get 400, half garbage that is dropped), then waits until the server
    /// has counted them all and every window that held lines back has been summarized.
    static func flood(_ server: ServerProcess, from hosts: [UInt32], total: Int) throws -> Outcome {
        let clients = try hosts.map { try SIPTestClient(server: server.port, host: $0) }
        let start = Date()
        for i in 0..<total {
            let client = clients[i % clients.count]
            if i % 2 == 0 {
                client.send(client.request("OPTIONS").replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 40"))
            } else {
                client.send("this is not SIP at all \(i)\r\n\r\n")
            }
            // Paced (10,000 a second) so that no receive buffer overflows.
            if i % 20 == 19 { usleep(2_000) }
        }
        var counters: [String: Int] = [:]
        try #require(try waitUntil(timeout: 20, interval: 0.05) {
            counters = try Self.counters(server)
            return counters["parse_errors", default: 0] >= total
        }, "the server counted \(counters["parse_errors", default: 0]) of \(total) datagrams")
        let seconds = Date().timeIntervalSince(start)
        var outcome = Outcome(seconds: seconds, lines: [], summaries: [], counters: counters)
        // Each window that held lines back closes within a second of its first line.
        _ = try waitUntil(timeout: 5, interval: 0.1) {
            outcome = Self.read(server.log, seconds: seconds, counters: try Self.counters(server))
            return outcome.summaries.reduce(0) { $0 + $1.total } >= outcome.counters["log_suppressed", default: 0]
        }
        return outcome
    }

    /// Each counter summed over the process table (`respite-shm --json`).
    static func counters(_ server: ServerProcess) throws -> [String: Int] {
        let r = try Products.run("respite-shm", ["--shm-name", server.shmName, "--json"], timeout: 10)
        guard r.status == 0, let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let processes = object["processes"] as? [[String: Any]] else {
            throw Spawn.Failure("respite-shm exited \(r.status): \(r.stdout.suffix(500)) \(r.stderr)")
        }
        var sums: [String: Int] = [:]
        for p in processes { for (k, v) in p["counters"] as? [String: Int] ?? [:] { sums[k, default: 0] += v } }
        return sums
    }

    /// The flood's lines in the log: " 1(1234) NOTICE: <core> [Runtime/Receiver.swift:90]: report(): malformed request from
    /// 127.0.0.2:40000 answered 400: ..." and "... malformed messages: 990 lines not
    /// written in the last 1.0 s (127.0.0.1: 990); ...".
    static func read(_ log: String, seconds: Double, counters: [String: Int]) -> Outcome {
        var outcome = Outcome(seconds: seconds, lines: [], summaries: [], counters: counters)
        for line in log.split(separator: "\n") {
            let pid = line.split(separator: "(").dropFirst().first?.split(separator: ")").first.map(String.init) ?? "?"
            if let from = line.range(of: "malformed request from ") ?? line.range(of: "malformed message from ") {
                let host = line[from.upperBound...].prefix { $0 != ":" }
                outcome.lines.append((pid, String(host)))
            } else if let at = line.range(of: "malformed messages: ") {
                let text = line[at.upperBound...]
                let total = Int(text.prefix { $0.isNumber }) ?? -1
                var sources: [String: Int] = [:]
                let inside = text.split(separator: "(").dropFirst().first?.split(separator: ")").first ?? ""
                for part in inside.split(separator: ",") {
                    let pair = part.split(separator: ":")
                    if pair.count == 2, let n = Int(pair[1].trimmingCharacters(in: .whitespaces)) {
                        sources[pair[0].trimmingCharacters(in: .whitespaces), default: 0] += n
                    }
                }
                outcome.summaries.append((pid, total, sources))
            }
        }
        return outcome
    }

    /// The checks both floods share: exact counts, lines within the limit, summaries that
    /// account for every line held back.
    static func check(_ o: Outcome, total: Int, hosts: [String], log: String) {
        #expect(o.counters["parse_errors"] == total, "every datagram counted, exactly")
        #expect(o.counters["dropped"] == total / 2)
        let suppressed = o.counters["log_suppressed", default: 0]
        #expect(o.lines.count + suppressed == total, "\(o.lines.count) lines + \(suppressed) held back")
        // An interval of s seconds opens at most floor(s) + 1 windows in each receiver.
        let windows = Int(o.seconds) + 1
        let byWriter = Dictionary(grouping: o.lines) { "\($0.pid) \($0.host)" }
        for (writer, lines) in byWriter {
            #expect(lines.count <= Self.perSource * windows, "\(writer): \(lines.count) lines in \(o.seconds) s")
        }
        #expect(Set(o.lines.map(\.host)).isSubset(of: Set(hosts)))
        for (pid, group) in Dictionary(grouping: o.summaries, by: \.pid) {
            #expect(group.count <= windows, "receiver \(pid): one summary per window")
        }
        #expect(o.summaries.reduce(0) { $0 + $1.total } == suppressed, "the summaries count every line held back")
        for s in o.summaries {
            #expect(s.sources.values.reduce(0, +) == s.total && Set(s.sources.keys).isSubset(of: Set(hosts)))
        }
        #expect(o.lines.count + o.summaries.count <= hosts.count * Self.perSource * 2 * windows + 2 * windows,
                "\(log.suffix(2000))")
    }

    @Test func aFloodFromOneSourceIsLoggedWithinTheLimit() throws {
        let server = try ServerProcess(config: Self.config, children: 2)
        defer { server.stop() }
        let o = try Self.flood(server, from: [0x7F00_0001], total: 2_000)
        Self.check(o, total: 2_000, hosts: ["127.0.0.1"], log: server.log)
        // Still serving.
        let client = try SIPTestClient(server: server.port)
        #expect(client.exchange(client.request("OPTIONS"))?.statusCode == 200)
    }

    @Test func aFloodFromFourSourcesGivesEachItsOwnLines() throws {
        let server = try ServerProcess(config: Self.config, children: 2)
        defer { server.stop() }
        let hosts: [UInt32] = [0x7F00_0001, 0x7F00_0002, 0x7F00_0003, 0x7F00_0004]
        let o = try Self.flood(server, from: hosts, total: 2_000)
        let names = hosts.map { "127.0.0.\($0 & 255)" }
        Self.check(o, total: 2_000, hosts: names, log: server.log)
        #expect(Set(o.lines.map(\.host)) == Set(names), "every source had its first lines written")
        var held: [String: Int] = [:]
        for s in o.summaries { for (h, n) in s.sources { held[h, default: 0] += n } }
        #expect(Set(held.keys) == Set(names), "the summaries name each source: \(held)")
    }
}
