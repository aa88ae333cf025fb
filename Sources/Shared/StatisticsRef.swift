import CShared

/// What a statistic is: a counter kept in the arena, or a gauge a reader computes from
/// another structure (cs_stat_kind).
public enum StatisticKind: UInt32, Sendable, Codable {
    case counter = 0
    case gauge = 1
}

/// One statistic's name, as Kamailio writes it: `group:name` ("core:rcv_requests").
public struct StatisticDefinition: Sendable, Hashable {
    public var group: String
    public var name: String
    public var kind: StatisticKind

    public init(_ group: String, _ name: String, kind: StatisticKind = .counter) {
        self.group = group
        self.name = name
        self.kind = kind
    }

    /// "group:name".
    public var qualifiedName: String { "\(group):\(name)" }
}

/// The named statistics in the arena (section "stats", cs_stats.h). The master defines
/// them before fork; each process adds to its own row (its process table slot); any
/// process sums the rows to read a value, and may reset one (a baseline, so no other
/// process's row is written). Owned by the arena; this is only a view.
public struct StatisticsRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_stats_table>

    public static let section = "stats"

    public init(raw: UnsafeMutablePointer<cs_stats_table>) { self.raw = raw }

    /// Statistics defined.
    public var count: Int { Int(raw.pointee.count) }
    /// Rows: the process table's capacity when the master laid the section out.
    public var processCapacity: Int { Int(raw.pointee.process_capacity) }

    /// The index of "group:name" (a walk of the names: call it once, at start-up).
    public func index(of qualifiedName: String) -> Int? {
        guard let colon = qualifiedName.firstIndex(of: ":") else { return nil }
        return index(group: String(qualifiedName[..<colon]), name: String(qualifiedName[qualifiedName.index(after: colon)...]))
    }

    /// The index of `group`:`name`, or nil.
    public func index(group: String, name: String) -> Int? {
        let i = cs_stats_find(raw, group, name)
        return i >= 0 ? Int(i) : nil
    }

    /// The definition at `index` (`index < count`).
    public func definition(_ index: Int) -> StatisticDefinition {
        precondition(index >= 0 && index < count, "statistic index \(index) out of 0..<\(count)")
        let d = UnsafeMutableRawPointer(raw).advanced(by: MemoryLayout<cs_stats_table>.size)
            .assumingMemoryBound(to: cs_stat_def.self)[index]
        return StatisticDefinition(cString(d.group), cString(d.name), kind: StatisticKind(rawValue: d.kind) ?? .counter)
    }

    /// The counters of process slot `slot` (nil past the capacity): the hot path keeps it
    /// and adds with `cs_stats_row_add`. Only the process owning the slot may add to it.
    public func row(slot: Int32) -> UnsafeMutablePointer<UInt64>? { cs_stats_row(raw, slot) }

    /// Adds `delta` to statistic `index` in the row of `slot` (the caller's own slot);
    /// relaxed. Out of range: nothing.
    @inline(__always)
    public func add(slot: Int32, index: Int, delta: UInt64 = 1) {
        cs_stats_add(raw, slot, UInt32(truncatingIfNeeded: index), delta)
    }

    /// The value since the last reset: the sum of every row less the baseline (relaxed
    /// loads, no lock; 0 for a gauge, whose value lives elsewhere).
    public func value(_ index: Int) -> UInt64 {
        cs_stats_value(raw, UInt32(truncatingIfNeeded: index))
    }

    /// Starts statistic `index` again from 0 (any process; writes only its baseline).
    public func reset(_ index: Int) { cs_stats_reset(raw, UInt32(truncatingIfNeeded: index)) }

    /// Every statistic with its value, in definition order (gauges read 0 here: see
    /// `StatisticGauges` for theirs).
    public func snapshot() -> [(group: String, name: String, value: UInt64)] {
        (0..<count).map { i in
            let d = definition(i)
            return (d.group, d.name, value(i))
        }
    }
}

extension ArenaRef {
    /// Lays out section "stats" with `definitions` (in that order: a definition's position
    /// is its index) and one row per process slot (the master, before fork). Names must be
    /// unique, the group below 16 bytes and the name below 40.
    public func installStatistics(_ definitions: [StatisticDefinition], processCapacity: Int) throws(ArenaError) -> StatisticsRef {
        guard processCapacity > 0, definitions.count <= Int(CS_STATS_MAX) else {
            throw .invalidLayout("statistics: \(definitions.count) statistics (at most \(CS_STATS_MAX)), \(processCapacity) rows")
        }
        guard Set(definitions.map(\.qualifiedName)).count == definitions.count else {
            throw .invalidLayout("statistics: a name is defined twice")
        }
        let bytes = cs_stats_bytes(UInt32(definitions.count), UInt32(processCapacity))
        let memory = try addSection(StatisticsRef.section, size: Int(bytes), kind: CS_SECTION_STATS, version: CS_STATS_VERSION)
        let table = memory.assumingMemoryBound(to: cs_stats_table.self)
        cs_stats_init(table, UInt32(definitions.count), UInt32(processCapacity))
        for (i, d) in definitions.enumerated() where cs_stats_define(table, UInt32(i), d.group, d.name, d.kind.rawValue) != 0 {
            throw .invalidLayout("statistic '\(d.qualifiedName)': group or name empty or too long")
        }
        return StatisticsRef(raw: table)
    }

    /// Section "stats", if the server has one.
    public var statistics: StatisticsRef? {
        section(StatisticsRef.section).map { StatisticsRef(raw: $0.assumingMemoryBound(to: cs_stats_table.self)) }
    }
}
