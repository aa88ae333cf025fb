import Foundation
import Shared
import Testing
@testable import Runtime

/// The limiter of per-message log lines: the first lines of each source per window, then
/// one summary with exact counts; a fixed table of sources.
@Suite struct LogRateLimiterTests {
    static func host(_ n: UInt32, port: UInt16 = 5060) -> SocketAddress {
        SocketAddress(ipv4: 0x0A00_0000 + n, port: port)
    }

    /// The numbers of a summary line: its total and each "source: count" pair.
    static func numbers(_ summary: String) -> (total: Int, parts: [String: Int]) {
        let total = Int(summary.prefix { $0.isNumber }) ?? -1
        let inside = summary.split(separator: "(").last?.split(separator: ")").first ?? ""
        var parts: [String: Int] = [:]
        for part in inside.split(separator: ",") {
            let pair = part.split(separator: ":")
            if pair.count == 2, let n = Int(pair[1].trimmingCharacters(in: .whitespaces)) {
                parts[pair[0].trimmingCharacters(in: .whitespaces)] = n
            }
        }
        return (total, parts)
    }

    @Test func firstLinesPerSourceThenOneExactSummary() {
        var limiter = LogRateLimiter(perSource: 10, maxSources: 4, windowNs: 1_000_000_000)
        var written = 0
        for i in 0..<100 {
            // Another port of the same host is the same source.
            let v = limiter.admit(Self.host(1, port: UInt16(5000 + i)), nowNs: 1_000 + UInt64(i))
            #expect(v.summary == nil)
            if v.write { written += 1 }
        }
        for _ in 0..<5 { if limiter.admit(Self.host(2), nowNs: 2_000).write { written += 1 } }
        #expect(written == 15)
        #expect(limiter.summaryDueNs == 1_000 + 1_000_000_000)
        #expect(limiter.closeWindow(nowNs: 999_999_999) == nil, "the window is still open")
        let next = limiter.admit(Self.host(2), nowNs: 1_000_001_000)
        let summary = next.summary ?? ""
        #expect(next.write, "a new window starts with a fresh budget")
        let n = Self.numbers(summary)
        #expect(n.total == 90 && n.parts == ["10.0.0.1": 90], "\(summary)")
        #expect(limiter.summaryDueNs == nil, "nothing held back in the new window yet")
        #expect(limiter.closeWindow(nowNs: 3_000_000_000) == nil, "a window that held nothing back has no summary")
    }

    @Test func sourcesBeyondTheTableShareOneBudget() {
        var limiter = LogRateLimiter(perSource: 2, maxSources: 3, windowNs: 1_000)
        var written = 0
        // 50 sources, 4 events each: 3 tracked sources write 2 each, the other 47 share 2.
        for round in 0..<4 {
            for s in 0..<50 where limiter.admit(Self.host(UInt32(s)), nowNs: UInt64(round)).write { written += 1 }
        }
        #expect(written == 3 * 2 + 2)
        let summary = limiter.closeWindow(nowNs: 2_000) ?? ""
        let n = Self.numbers(summary)
        #expect(n.total == 200 - 8, "\(summary)")
        #expect(n.parts["other sources"] == 47 * 4 - 2 && n.parts["10.0.0.0"] == 2, "\(summary)")
        #expect(n.parts.values.reduce(0, +) == n.total, "every held line is in the summary: \(summary)")
    }

    @Test func manySourcesAreSummedBeyondTheFirstFive() {
        var limiter = LogRateLimiter(perSource: 1, maxSources: 8, windowNs: 1_000)
        for s in 0..<8 { for _ in 0..<(s + 2) { _ = limiter.admit(Self.host(UInt32(s)), nowNs: 0) } }
        let summary = limiter.closeWindow(nowNs: 1_000) ?? ""
        let n = Self.numbers(summary)
        // Held: 1, 2, ..., 8 (36); the five largest by name, then "3 more sources 6".
        #expect(n.total == 36 && n.parts["10.0.0.7"] == 8 && n.parts["3 more sources"] == 6, "\(summary)")
    }
}
