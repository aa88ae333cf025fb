import CShared

/// A view of the process table. The master claims slots before it forks; each child
/// writes its own entry and counters; anyone reads.
public struct ProcessTableRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_proc_table>

    public init(_ raw: UnsafeMutablePointer<cs_proc_table>) { self.raw = raw }

    public var capacity: Int { Int(raw.pointee.capacity) }
    public var count: Int { Int(raw.pointee.count) }

    /// Claims a slot for a process about to be forked (master only). nil when full.
    public func claim(role: cs_proc_role, rank: Int, description: String) -> Int32? {
        let index = cs_proc_claim(raw, role.rawValue, Int32(rank), description)
        return index >= 0 ? index : nil
    }

    public func started(slot: Int32, pid: Int32) { cs_proc_started(raw, slot, pid) }
    public func setState(slot: Int32, _ state: cs_proc_state) { cs_proc_set_state(raw, slot, state.rawValue) }

    @inline(__always)
    public func add(slot: Int32, _ counter: cs_proc_counter, _ delta: UInt64 = 1) {
        cs_proc_counter_add(raw, slot, counter.rawValue, delta)
    }

    public func counter(slot: Int32, _ counter: cs_proc_counter) -> UInt64 {
        cs_proc_counter_get(raw, slot, counter.rawValue)
    }

    /// A copy of one entry (`slot < count`).
    public func entry(_ slot: Int) -> cs_proc_entry {
        return (UnsafeMutableRawPointer(raw) + MemoryLayout<cs_proc_table>.size)
            .assumingMemoryBound(to: cs_proc_entry.self)[slot]
    }
}
