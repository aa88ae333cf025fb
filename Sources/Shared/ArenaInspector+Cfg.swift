import CShared

extension ArenaReport {
    /// Section "cfg": the settings an operator may change at run time (`cfg.set`).
    public struct ChangeableSetting: Codable, Sendable {
        public var group: String
        public var name: String
        public var value: Int64
        public var minimum: Int64
        public var maximum: Int64
        /// Times `cfg.set` changed it since the server started.
        public var changes: UInt64
        public var description: String
    }
}

extension ArenaInspector {
    /// Section "cfg": copied row by row, names checked for their NUL.
    func readChangeableSettings(_ s: RawSection, _ problems: inout [String]) -> [ArenaReport.ChangeableSetting]? {
        guard let (table, capacity, rowAt) = headerAndRows(s, cs_cfg_table.self, cs_cfg_entry.self,
                                                           what: "cfg table", claimed: { Int($0.capacity) }, &problems)
        else { return nil }
        guard Int(table.count) <= capacity else {
            problems.append("cfg table: count \(table.count) exceeds its capacity \(capacity)")
            return nil
        }
        return (0..<Int(table.count)).compactMap { i in
            guard let e = rowAt(i) else { return nil }
            return ArenaReport.ChangeableSetting(group: cString(e.group), name: cString(e.name), value: e.value,
                                                 minimum: e.minimum, maximum: e.maximum, changes: e.changes,
                                                 description: cString(e.description))
        }
    }
}
