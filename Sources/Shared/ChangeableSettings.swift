import CShared

/// The settings an operator may change while the server runs (section "cfg", cs_cfg.h):
/// `cfg.set core debug 3` stores the value here and every process reads it where it uses
/// it. Laid out by the master before fork; afterwards only values change.
public struct ChangeableSettings: @unchecked Sendable {
    let raw: UnsafeMutablePointer<cs_cfg_table>

    public static let section = "cfg"

    /// One setting the master declares.
    public struct Declaration: Sendable {
        public var group: String
        public var name: String
        public var description: String
        public var value: Int
        public var range: ClosedRange<Int>

        public init(group: String, name: String, description: String, value: Int, range: ClosedRange<Int>) {
            self.group = group
            self.name = name
            self.description = description
            self.value = value
            self.range = range
        }
    }

    /// A setting as it is now.
    public struct Setting: Sendable, Equatable {
        public var group: String
        public var name: String
        public var description: String
        public var value: Int
        public var range: ClosedRange<Int>
        public var changes: UInt64
    }

    public var count: Int { Int(raw.pointee.count) }

    /// Index of `group.name`, or nil when it is not a changeable setting.
    public func index(group: String, name: String) -> Int32? {
        let i = cs_cfg_find(raw, group, name)
        return i < 0 ? nil : i
    }

    /// Relaxed load: the old or the new value while another process changes it.
    @inline(__always)
    public func value(_ index: Int32) -> Int { Int(cs_cfg_get(raw, index)) }

    /// Stores a value; false when it is outside the setting's range.
    public func set(_ index: Int32, _ value: Int) -> Bool { cs_cfg_set(raw, index, Int64(value)) == 0 }

    public func setting(_ index: Int32) -> Setting {
        // The entries follow the table header (a flexible array member, which Swift does not see).
        let e = (UnsafeRawPointer(raw) + MemoryLayout<cs_cfg_table>.size).assumingMemoryBound(to: cs_cfg_entry.self)[Int(index)]
        return Setting(group: cString(e.group), name: cString(e.name), description: cString(e.description),
                       value: Int(cs_cfg_get(raw, index)), range: Int(e.minimum)...Int(e.maximum), changes: e.changes)
    }

    public var all: [Setting] { (0..<Int32(count)).map(setting) }
}

extension ArenaRef {
    /// Lays out section "cfg" with `declarations` (the master, before fork).
    public func installChangeableSettings(_ declarations: [ChangeableSettings.Declaration]) throws(ArenaError) -> ChangeableSettings {
        let capacity = UInt32(max(1, declarations.count))
        let memory = try addSection(ChangeableSettings.section, size: Int(cs_cfg_table_bytes(capacity)),
                                    kind: CS_SECTION_CFG, version: CS_CFG_VERSION)
        let table = memory.assumingMemoryBound(to: cs_cfg_table.self)
        cs_cfg_table_init(table, capacity)
        for d in declarations {
            guard cs_cfg_add(table, d.group, d.name, d.description, Int64(d.value),
                             Int64(d.range.lowerBound), Int64(d.range.upperBound)) >= 0 else {
                throw .invalidLayout("changeable setting \(d.group).\(d.name): name too long or table full")
            }
        }
        return ChangeableSettings(raw: table)
    }

    /// Section "cfg", if the server has one.
    public var changeableSettings: ChangeableSettings? {
        section(ChangeableSettings.section).map { ChangeableSettings(raw: $0.assumingMemoryBound(to: cs_cfg_table.self)) }
    }
}
