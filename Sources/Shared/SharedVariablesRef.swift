import CShared
#if canImport(Glibc)
import Glibc
#endif

/// A view of the shared variables (`$shv(name)`) in section "shv".
///
/// Owned by the arena; no `deinit`. The master adds every slot before it forks (so a
/// slot's index is the same in every process and the compiled script can keep it);
/// after fork any server process reads and sets values under the table's robust lock.
/// A string value is copied into the arena; the string it replaces is freed.
public struct SharedVariablesRef: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_shv_table>

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_shv_table>) {
        self.arena = arena
        self.raw = raw
    }

    public var capacity: Int { Int(raw.pointee.capacity) }
    /// Slots added so far.
    public var count: Int { Int(cs_atomic_load_u32(&raw.pointee.count)) }

    /// The name of slot `index` (`index < count`).
    public func name(at index: Int) -> String {
        precondition(index >= 0 && index < count, "no shared variable slot \(index)")
        let entries = (UnsafeMutableRawPointer(raw) + MemoryLayout<cs_shv_table>.size)
            .assumingMemoryBound(to: cs_shv_entry.self)
        return cString(entries[index].name)
    }

    /// Every name, in slot order.
    public var names: [String] { (0..<count).map(name(at:)) }

    /// The slot of `name`, or nil. Any process, no lock.
    public func index(of name: String) -> Int? {
        let i = withBytes(name) { cs_shv_find(raw, $0, $1) }
        return i >= 0 ? Int(i) : nil
    }

    /// Adds a slot holding `$null` and returns its index; an existing name gives its
    /// slot. Master only, before fork (no lock is taken).
    public func add(_ name: String) throws(ArenaError) -> Int {
        var index: UInt32 = 0
        let rc = withBytes(name) { cs_shv_add(raw, $0, $1, &index) }
        switch rc {
        case 0: return Int(index)
        case EINVAL: throw .invalidLayout("shared variable name '\(name)' must be 1 to \(ShvsetSpec.maxNameBytes) bytes")
        default: throw .invalidLayout("shared variable table is full (\(capacity) slots): cannot add '\(name)'")
        }
    }

    /// A copy of slot `index`'s value, taken under the lock (`.null` for a bad index).
    public func get(_ index: Int) -> SharedValue {
        guard index >= 0, index < count else { return .null }
        return SharedValue.copyOut { value, buffer, capacity in
            cs_shv_get(arena.header, raw, UInt32(index), value, buffer, capacity)
        }
    }

    /// Sets slot `index`. Returns false for a bad index or when the arena has no room for
    /// a string (the old value then stays).
    @discardableResult
    public func set(_ index: Int, _ value: SharedValue) -> Bool {
        guard index >= 0, index < count else { return false }
        let slot = UInt32(index)
        switch value {
        case .null: return cs_shv_set_null(arena.header, raw, slot) == 0
        case .int(let v): return cs_shv_set_int(arena.header, raw, slot, Int64(v)) == 0
        case .string(let s):
            return withBytes(s) { cs_shv_set_string(arena.header, raw, slot, $0, $1) } == 0
        }
    }

    /// The table's robust lock, which every get and set takes (for its holder pid and
    /// recovery count; callers never need to hold it themselves).
    public var lock: SharedLockRef {
        let offset = MemoryLayout<cs_shv_table>.offset(of: \cs_shv_table.lock)!
        return SharedLockRef((UnsafeMutableRawPointer(raw) + offset).assumingMemoryBound(to: cs_lock.self))
    }
}
