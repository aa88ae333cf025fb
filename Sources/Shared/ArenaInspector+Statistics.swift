import CShared

extension ArenaReport {
    /// Section "stats": every named statistic with its value (sum of the process rows
    /// less the reset baseline; gauges computed from the structure they describe).
    public struct Statistics: Codable, Sendable {
        /// Rows in the section (the process table's capacity).
        public var processCapacity: UInt32
        /// Times a statistic was reset.
        public var resets: UInt64
        public var entries: [Statistic]
    }

    public struct Statistic: Codable, Sendable {
        public var group: String
        public var name: String
        /// "counter" or "gauge".
        public var kind: String
        /// Since the last reset (counters); now (gauges; nil when the structure a gauge
        /// is computed from is not in this arena).
        public var value: UInt64?
        /// The sum at the last reset (counters).
        public var baseline: UInt64
    }
}

/// The gauges of section "stats": values that are not counted but read, when asked, from
/// the structure they describe. Kamailio's tm:current and tm:waiting come from the
/// transaction table.
public enum StatisticGauges {
    /// Gauge values by "group:name", from a report's other sections (nil values: the
    /// section they come from is missing).
    public static func values(from report: ArenaReport) -> [String: UInt64?] {
        let tx = report.transactions
        return [
            // Transactions in the table (Kamailio: "current": created and not yet freed).
            "tm:current": tx.map(\.live),
            // Transactions that have their final reply and wait (wt_timer) to be freed.
            "tm:waiting": tx.map(\.byState.replied),
        ]
    }
}

extension ArenaInspector {
    func readStatistics(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Statistics? {
        guard let (table, count, defAt) = headerAndRows(s, cs_stats_table.self, cs_stat_def.self,
                                                        what: "statistics", claimed: { Int($0.count) }, &problems)
        else { return nil }
        let bounds = s.offset..<(s.offset + s.size)
        let rows = Int(table.process_capacity), words = Int(table.row_words)
        let valuesAt = s.offset + Int(clamping: table.values_offset)
        let matrixBytes = rows.multipliedReportingOverflow(by: words * 8)
        guard words >= count, !matrixBytes.overflow, table.values_offset < UInt64(s.size),
              valuesAt + matrixBytes.partialValue <= bounds.upperBound else {
            problems.append("statistics: \(rows) rows of \(words) counters at offset \(table.values_offset) do not fit the section")
            return nil
        }
        var entries: [ArenaReport.Statistic] = []
        for i in 0..<count {
            guard let d = defAt(i) else { continue }
            var sum: UInt64 = 0
            for p in 0..<rows {
                sum &+= load(UInt64.self, at: valuesAt + (p * words + i) * 8, in: bounds) ?? 0
            }
            let gauge = d.kind == CS_STAT_GAUGE.rawValue
            entries.append(.init(group: cString(d.group), name: cString(d.name), kind: gauge ? "gauge" : "counter",
                                 value: gauge ? nil : sum >= d.baseline ? sum - d.baseline : 0, baseline: d.baseline))
        }
        return .init(processCapacity: table.process_capacity, resets: table.resets, entries: entries)
    }
}
