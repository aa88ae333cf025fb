import CShared
import Foundation
import TestSupport
import Testing
@testable import Shared

/// Section "stats": named statistics summed over per-process rows, reset by baseline,
/// shown by respite-shm as text, JSON and Prometheus text.
@Suite(.serialized) struct StatisticsTests {
    static let definitions = [StatisticDefinition("core", "rcv_requests"), StatisticDefinition("core", "rcv_replies"),
                              StatisticDefinition("sl", "200_replies"), StatisticDefinition("tm", "current", kind: .gauge)]

    /// An arena with the standard sections and `definitions` in section "stats".
    func makeArena(_ tag: String, capacity: Int = 8) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: 4 << 20)
        _ = try arena.ref.install(ArenaLayout(processCapacity: capacity))
        _ = try arena.ref.installStatistics(Self.definitions, processCapacity: capacity)
        arena.ref.setReady()
        return arena
    }

    @Test func sumsTheRowsOfEveryProcessAndFindsNamesOnce() throws {
        let arena = try makeArena("sum")
        defer { try? arena.unlink() }
        let stats = try #require(arena.ref.statistics)
        #expect(stats.count == 4)
        #expect(stats.processCapacity == 8)
        let requests = try #require(stats.index(of: "core:rcv_requests"))
        #expect(stats.index(group: "sl", name: "200_replies") == 2)
        #expect(stats.index(of: "core:nothing") == nil)
        #expect(stats.index(of: "no-colon") == nil)
        stats.add(slot: 0, index: requests, delta: 3)
        stats.add(slot: 5, index: requests)
        stats.add(slot: 7, index: requests, delta: 10)
        stats.add(slot: 8, index: requests, delta: 100) // past the capacity: nothing
        stats.add(slot: 1, index: 99) // no such statistic: nothing
        #expect(stats.value(requests) == 14)
        #expect(stats.row(slot: 5)?[requests] == 1)
        #expect(stats.row(slot: 8) == nil)
        #expect(stats.value(1) == 0)
        let snapshot = stats.snapshot()
        #expect(snapshot.map { "\($0.group):\($0.name)" } == Self.definitions.map(\.qualifiedName))
        #expect(snapshot[0].value == 14)
        #expect(stats.definition(3).kind == .gauge)
    }

    @Test func resetStoresABaselineAndLeavesTheRowsAlone() throws {
        let arena = try makeArena("reset")
        defer { try? arena.unlink() }
        let stats = try #require(arena.ref.statistics)
        stats.add(slot: 1, index: 0, delta: 5)
        stats.add(slot: 2, index: 0, delta: 7)
        stats.add(slot: 2, index: 1, delta: 4)
        stats.reset(0)
        #expect(stats.value(0) == 0)
        #expect(stats.value(1) == 4, "only the statistic reset starts again")
        #expect(stats.row(slot: 1)?[0] == 5 && stats.row(slot: 2)?[0] == 7, "rows are never written by a reset")
        stats.add(slot: 1, index: 0, delta: 2)
        #expect(stats.value(0) == 2)
        #expect(stats.raw.pointee.resets == 1)

        let report = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size).report()
        let s = try #require(report.statistics)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(s.resets == 1)
        #expect(s.entries.map(\.value) == [2, 4, 0, nil], "the gauge has nothing to read from: no transaction table")
        #expect(s.entries[0].baseline == 12)
        #expect(report.sections.contains { $0.name == "stats" && $0.kind == "statistics" })
    }

    @Test func refusesBadLayouts() throws {
        let arena = try Arena.create(name: testArenaName("bad"), size: 4 << 20)
        defer { try? arena.unlink() }
        #expect(throws: ArenaError.self) {
            _ = try arena.ref.installStatistics([StatisticDefinition("g", "a"), StatisticDefinition("g", "a")], processCapacity: 4)
        }
        #expect(throws: ArenaError.self) {
            _ = try arena.ref.installStatistics([StatisticDefinition("g", String(repeating: "n", count: 40))], processCapacity: 4)
        }
        #expect(throws: ArenaError.self) {
            _ = try arena.ref.installStatistics([StatisticDefinition("", "a")], processCapacity: 4)
        }
        #expect(throws: ArenaError.self) { _ = try arena.ref.installStatistics([], processCapacity: 0) }
    }

    @Test func processesCountInTheirOwnRowsAndTheSumIsExact() throws {
        let r = try Products.run("respite-arena-helper", ["stats-sum", "--procs", "4", "--count", "200000", "--more", "1000"],
                                 timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["failed_processes"] == "0")
        #expect(v["hits"] == v["expected_hits"])
        #expect(v["bytes"] == v["expected_bytes"])
        #expect(v["after_reset"] == "0")
        #expect(v["hits_since_reset"] == v["expected_since_reset"])
        #expect(v["bytes_after"] == v["expected_bytes"], "a reset of one statistic leaves the others")
        #expect(v["row1"] == v["expected_row1"])
        #expect(v["resets"] == "1")
    }

    @Test func respiteShmShowsStatisticsAsTextJSONAndPrometheus() throws {
        let arena = try makeArena("tool")
        defer { try? arena.unlink() }
        let stats = try #require(arena.ref.statistics)
        stats.add(slot: 1, index: 0, delta: 42)
        stats.add(slot: 3, index: 2, delta: 7)
        let name = arena.name

        let text = try Products.run("respite-shm", ["--shm-name", name])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("rcv_requests=42") && text.stdout.contains("200_replies=7"), "\(text.stdout)")

        let json = try Products.run("respite-shm", ["--shm-name", name, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let entries = try #require((object["statistics"] as? [String: Any])?["entries"] as? [[String: Any]])
        #expect(entries.first { $0["name"] as? String == "rcv_requests" }?["value"] as? Int == 42)

        let prom = try Products.run("respite-shm", ["--shm-name", name, "--prometheus"])
        #expect(prom.status == 0, "\(prom.stderr)")
        try PrometheusFormat.check(prom.stdout)
        #expect(prom.stdout.contains("\n# TYPE respite_core_rcv_requests counter\nrespite_core_rcv_requests 42\n"))
        #expect(prom.stdout.contains("respite_sl_200_replies 7\n"))
        #expect(prom.stdout.contains("# TYPE respite_arena_size_bytes gauge\nrespite_arena_size_bytes 4194304\n"))
        #expect(prom.stdout.contains("respite_arena_section_bytes{section=\"stats\",kind=\"statistics\"}"))
        #expect(!prom.stdout.contains("respite_tm_current"), "a gauge with nothing to read from is left out")
        let both = try Products.run("respite-shm", ["--shm-name", name, "--json", "--prometheus"])
        #expect(both.status != 0)
    }

    @Test func prometheusNamesAndLabelsAreEscaped() throws {
        #expect(PrometheusExposition.metricName("respite_sl_1xx-replies.x") == "respite_sl_1xx_replies_x")
        #expect(PrometheusExposition.metricName("9lives") == "_9lives")
        #expect(PrometheusExposition.escapeLabel("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }

    @Test func theFormatCheckRejectsWhatAScraperWould() throws {
        try PrometheusFormat.check("# HELP a_b x\n# TYPE a_b counter\na_b{l=\"v\\\"\"} 1\n")
        for bad in ["# TYPE a counter\na 1", "b 1\n", "# TYPE 1a gauge\n1a 1\n", "# TYPE a gauge\na{l=v} 1\n",
                    "# TYPE a gauge\na one\n", "# TYPE a gauge\na 1\n# TYPE a gauge\n", "# TYPE a\n"] {
            #expect(throws: PrometheusFormat.Invalid.self, "\(bad)") { try PrometheusFormat.check(bad) }
        }
    }
}

extension StatisticsTests {
    @Test func theServerRendersItsOwnArenaAsRespiteShmDoes() throws {
        let arena = try makeArena("own")
        defer { try? arena.unlink() }
        let stats = try #require(arena.ref.statistics)
        stats.add(slot: 2, index: 1, delta: 9)
        let text = PrometheusExposition.render(arena: arena.ref)
        try PrometheusFormat.check(text)
        #expect(text.contains("\nrespite_core_rcv_replies 9\n"))
        let tool = try Products.run("respite-shm", ["--shm-name", arena.name, "--prometheus"])
        #expect(tool.stdout == text, "one rendering for the tool and the server")
    }
}
