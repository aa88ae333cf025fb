import CShared

/// The script's shared storage in the arena: `$shv` variables and `$sht` hash tables.
/// Created by the master before it forks (`ArenaRef.installTables`); found again by any
/// process that has the arena mapped (`ArenaRef.sharedTables()`).
public struct SharedTables: @unchecked Sendable {
    public let variables: SharedVariablesRef
    public let hashTables: HashTablesRef

    public static let variablesSection = "shv"
    public static let hashTablesSection = "htable"
}

extension ArenaRef {
    /// Creates sections "shv" and "htable" (master only, before fork, before
    /// `setReady()`): one slot per distinct name of `shv` and of `shvset` (the latter
    /// with its initial value, in order, so a later spec wins), and one table per spec.
    /// Throws `.invalidLayout` for a bad name, a duplicate table or a bad size, and
    /// `.outOfMemory` when the arena is too small.
    public func installTables(shv names: [String], shvset: [ShvsetSpec] = [],
                              htables: [HashTableSpec]) throws(ArenaError) -> SharedTables {
        var distinct: [String] = []
        var seen: Set<String> = []
        for n in names + shvset.map(\.name) where seen.insert(n).inserted { distinct.append(n) }
        let capacity = max(distinct.count, 1)
        let shvMemory = try addSection(SharedTables.variablesSection,
                                       size: Int(cs_shv_table_bytes(UInt32(capacity))),
                                       kind: CS_SECTION_SHV, version: CS_SHV_VERSION)
        let table = shvMemory.assumingMemoryBound(to: cs_shv_table.self)
        let rc = cs_shv_table_init(table, UInt32(capacity))
        if rc != 0 { throw .system(SystemCallError("pthread_mutex_init", errno: rc)) }
        let variables = SharedVariablesRef(arena: self, table)
        for n in distinct { _ = try variables.add(n) }
        for spec in shvset {
            guard let i = variables.index(of: spec.name), variables.set(i, spec.value) else {
                throw .outOfMemory(requested: spec.value.description.utf8.count)
            }
        }

        var tableNames: Set<String> = []
        var buckets: UInt64 = 0
        for spec in htables {
            guard tableNames.insert(spec.name).inserted else { throw .invalidLayout("hash table '\(spec.name)' is defined twice") }
            guard HashTableSpec.sizeRange.contains(spec.sizeLog2) else {
                throw .invalidLayout("hash table '\(spec.name)': size \(spec.sizeLog2) is not in \(HashTableSpec.sizeRange)")
            }
            buckets += 1 << UInt64(spec.sizeLog2)
        }
        let dirCapacity = UInt32(max(htables.count, 1))
        let bytes = cs_htable_dir_bytes(dirCapacity, buckets)
        let dir = try addSection(SharedTables.hashTablesSection, size: Int(bytes), kind: CS_SECTION_HTABLE,
                                 version: CS_HTABLE_VERSION).assumingMemoryBound(to: cs_htable_dir.self)
        cs_htable_dir_init(dir, dirCapacity, bytes)
        for spec in htables {
            let rc = cs_htable_add(header, dir, spec.name, UInt32(spec.sizeLog2),
                                   UInt32(clamping: spec.autoexpireSeconds), spec.initialValue == nil ? 0 : 1,
                                   Int64(spec.initialValue ?? 0), nil)
            if rc != 0 { throw .invalidLayout("hash table '\(spec.name)': cannot be created (errno \(rc))") }
        }
        return SharedTables(variables: variables, hashTables: HashTablesRef(arena: self, dir))
    }

    /// Finds the shared variables and hash tables (any process with the arena mapped
    /// writable, e.g. a receiver after fork).
    public func sharedTables() throws(ArenaError) -> SharedTables {
        guard let shv = section(SharedTables.variablesSection) else { throw .missingSection(SharedTables.variablesSection) }
        guard let ht = section(SharedTables.hashTablesSection) else { throw .missingSection(SharedTables.hashTablesSection) }
        return SharedTables(variables: SharedVariablesRef(arena: self, shv.assumingMemoryBound(to: cs_shv_table.self)),
                            hashTables: HashTablesRef(arena: self, ht.assumingMemoryBound(to: cs_htable_dir.self)))
    }
}
