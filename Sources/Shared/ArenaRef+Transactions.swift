import CShared

extension ArenaRef {
    /// Creates section "txtable" with `buckets` buckets (a power of two) and one section
    /// "wheel.<name>" per wheel (`slots` a power of two, `tickMs` > 0), master only,
    /// before fork and before `setReady()`. The wheels start at the current monotonic
    /// time. Throws `.invalidLayout` for a bad count, name or tick (names are unique,
    /// 1...17 bytes) and `.outOfMemory` when the arena is too small.
    public func installTransactions(buckets: Int, wheels: [(name: String, tickMs: Int, slots: Int)])
        throws(ArenaError) -> TransactionSections
    {
        guard buckets > 0, buckets <= 1 << 24, buckets & (buckets - 1) == 0 else {
            throw .invalidLayout("transaction table: \(buckets) buckets is not a power of two in 1...2^24")
        }
        var names: Set<String> = []
        for w in wheels {
            let n = w.name.utf8.count
            guard n > 0, n <= TransactionSections.maxWheelName, !w.name.utf8.contains(0) else {
                throw .invalidLayout("timer wheel '\(w.name)': a name needs 1...\(TransactionSections.maxWheelName) bytes")
            }
            guard names.insert(w.name).inserted else { throw .invalidLayout("timer wheel '\(w.name)' is defined twice") }
            guard w.tickMs > 0, w.tickMs <= Int(UInt32.max) else {
                throw .invalidLayout("timer wheel '\(w.name)': tick \(w.tickMs) ms is not positive")
            }
            guard w.slots > 0, w.slots <= 1 << 24, w.slots & (w.slots - 1) == 0 else {
                throw .invalidLayout("timer wheel '\(w.name)': \(w.slots) slots is not a power of two in 1...2^24")
            }
        }
        let tableBytes = Int(cs_tx_table_bytes(UInt32(buckets)))
        let table = try addSection(TransactionSections.tableSection, size: tableBytes, kind: CS_SECTION_TXTABLE,
                                   version: CS_TX_VERSION).assumingMemoryBound(to: cs_tx_table.self)
        let rc = cs_tx_table_init(table, UInt32(buckets))
        if rc != 0 { throw .system(SystemCallError("pthread_mutex_init", errno: rc)) }
        let now = cs_now_ms()
        var refs: [TimerWheelRef] = []
        for w in wheels {
            let bytes = Int(cs_wheel_bytes(UInt32(w.slots)))
            let wheel = try addSection(TransactionSections.wheelSectionPrefix + w.name, size: bytes,
                                       kind: CS_SECTION_WHEEL).assumingMemoryBound(to: cs_timer_wheel.self)
            let rc = cs_wheel_init(wheel, w.name, UInt32(w.tickMs), UInt32(w.slots), now)
            if rc != 0 { throw .invalidLayout("timer wheel '\(w.name)': cannot be created (errno \(rc))") }
            refs.append(TimerWheelRef(arena: self, wheel))
        }
        try installTransactionHolds()
        return TransactionSections(arena: self, table: table, wheels: refs)
    }

    /// Finds the transaction table and every wheel (any process with the arena mapped
    /// writable, e.g. a receiver after fork). Throws `.missingSection` without a table.
    public func transactionSections() throws(ArenaError) -> TransactionSections {
        guard let table = section(TransactionSections.tableSection) else {
            throw .missingSection(TransactionSections.tableSection)
        }
        var wheels: [TimerWheelRef] = []
        let count = min(Int(header.pointee.section_count), Int(CS_MAX_SECTIONS))
        let first = (base + MemoryLayout<cs_arena_header>.offset(of: \.sections)!).assumingMemoryBound(to: cs_section.self)
        for i in 0..<count where first[i].kind == CS_SECTION_WHEEL.rawValue {
            wheels.append(TimerWheelRef(arena: self, (base + Int(first[i].offset)).assumingMemoryBound(to: cs_timer_wheel.self)))
        }
        return TransactionSections(arena: self, table: table.assumingMemoryBound(to: cs_tx_table.self), wheels: wheels)
    }
}
