import Shared

/// What the management interface (`stats.get_statistics`, `stats.reset_statistics`,
/// `tm.stats`, `sl.stats`) reads and resets, from any process of the server.
extension ServerStatistics {
    /// One statistic as `kamcmd stats.get_statistics` prints it ("core:rcv_requests = 3").
    public struct Entry: Sendable, Equatable {
        public var group: String
        public var name: String
        public var value: UInt64
        public var isGauge: Bool

        public init(group: String, name: String, value: UInt64, isGauge: Bool) {
            self.group = group
            self.name = name
            self.value = value
            self.isGauge = isGauge
        }
    }

    /// The statistics `selectors` name, in section order, as Kamailio 5.6's
    /// stats.get_statistics selects them: "all", "group:" (every statistic of the group) or
    /// a bare name (the statistic of that name in any group); "group:name" and unknown
    /// names select nothing. tm's statistics are not among them unless `includingTM`: in
    /// Kamailio only tm.stats shows them. Read without locks, like respite-shm; a gauge's
    /// value is read from the transaction table (0 without one).
    public static func entries(arena: ArenaRef, matching selectors: [String], includingTM: Bool = false) -> [Entry] {
        var inspector = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size)
        let all = read(arena, selectors).filter { includingTM || $0.group != "tm" }
        // The transaction walk is needed only for tm's gauges.
        inspector.parts = all.contains { $0.isGauge } ? [.statistics, .transactions] : [.statistics]
        guard !all.isEmpty, let stats = inspector.report().statistics else { return [] }
        let values = Dictionary(stats.entries.map { ("\($0.group):\($0.name)", $0.value ?? 0) }, uniquingKeysWith: { a, _ in a })
        return all.map { e in
            var e = e
            e.value = values["\(e.group):\(e.name)"] ?? 0
            return e
        }
    }

    /// Resets the statistics `selectors` name (as in `entries`; gauges are not reset).
    /// Returns how many were reset.
    @discardableResult
    public static func reset(arena: ArenaRef, matching selectors: [String], includingTM: Bool = false) -> Int {
        guard let stats = arena.statistics else { return 0 }
        var count = 0
        for i in 0..<stats.count {
            let d = stats.definition(i)
            guard d.kind == .counter, includingTM || d.group != "tm", selects(selectors, d) else { continue }
            stats.reset(i)
            count += 1
        }
        return count
    }

    /// Every statistic of `group` with its value, in section order (`tm.stats`: group
    /// "tm"; `sl.stats`: group "sl").
    public static func group(_ group: String, arena: ArenaRef) -> [Entry] {
        entries(arena: arena, matching: ["\(group):"], includingTM: true)
    }

    static func selects(_ selectors: [String], _ d: StatisticDefinition) -> Bool {
        selectors.contains { s in s == "all" || s == "\(d.group):" || s == d.name }
    }

    /// The selected definitions, values still 0.
    static func read(_ arena: ArenaRef, _ selectors: [String]) -> [Entry] {
        guard let stats = arena.statistics else { return [] }
        return (0..<stats.count).compactMap { i in
            let d = stats.definition(i)
            return selects(selectors, d) ? Entry(group: d.group, name: d.name, value: 0, isGauge: d.kind == .gauge) : nil
        }
    }
}
