import CShared
#if canImport(Glibc)
import Glibc
#endif

/// A view of the hash-table directory (section "htable"): find a table by name.
///
/// Owned by the arena; no `deinit`. The master adds every table before it forks, so the
/// directory never changes afterwards and is read without a lock.
public struct HashTablesRef: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_htable_dir>

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_htable_dir>) {
        self.arena = arena
        self.raw = raw
    }

    public var count: Int { Int(cs_atomic_load_u32(&raw.pointee.count)) }

    /// All tables, in creation order.
    public var tables: [HashTableRef] {
        let first = (UnsafeMutableRawPointer(raw) + MemoryLayout<cs_htable_dir>.size).assumingMemoryBound(to: cs_htable.self)
        return (0..<min(count, Int(raw.pointee.capacity))).map { HashTableRef(arena: arena, first + $0) }
    }

    /// The table named `name` (`$sht(name=>...)`), or nil.
    public func table(named name: String) -> HashTableRef? {
        withBytes(name) { cs_htable_find(raw, $0, $1) }.map { HashTableRef(arena: arena, $0) }
    }
}

/// A view of one shared hash table (`$sht(table=>key)`).
///
/// Owned by the arena; no `deinit`. Every operation takes the key's bucket lock (a
/// robust, recursive, process-shared mutex), so any server process may call any of them
/// at any time; `lock(_:)`/`unlock(_:)` hold a bucket across several operations
/// (`sht_lock`/`sht_unlock`). Keys are hashed with FNV-1a over their UTF-8 bytes.
public struct HashTableRef: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_htable>

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_htable>) {
        self.arena = arena
        self.raw = raw
    }

    public var name: String { cString(raw.pointee.name) }
    public var sizeLog2: Int { Int(raw.pointee.size_log2) }
    public var bucketCount: Int { Int(raw.pointee.bucket_count) }
    public var autoexpireSeconds: Int { Int(raw.pointee.autoexpire) }
    public var initialValue: Int? { raw.pointee.has_initval != 0 ? Int(raw.pointee.initval) : nil }
    /// Live items (relaxed; exact when the table is quiet). Expired items not yet met
    /// or purged are still counted.
    public var count: Int { Int(cs_atomic_load_u64(&raw.pointee.items)) }

    /// The value of `key`; a missing or expired key reads as the initval or `.null`.
    public func get(_ key: String) -> SharedValue {
        withBytes(key) { k, n in
            SharedValue.copyOut { value, buffer, capacity in
                cs_htable_get(arena.header, raw, k, n, value, buffer, capacity)
            }
        }
    }

    /// Sets `key` (`.null` deletes it). Returns false when the arena has no room (nothing
    /// changed).
    @discardableResult
    public func set(_ key: String, _ value: SharedValue) -> Bool {
        withBytes(key) { k, n in
            switch value {
            case .null:
                _ = cs_htable_remove(arena.header, raw, k, n)
                return true
            case .int(let v):
                return cs_htable_set_int(arena.header, raw, k, n, Int64(v)) == 0
            case .string(let s):
                return withBytes(s) { cs_htable_set_string(arena.header, raw, k, n, $0, $1) } == 0
            }
        }
    }

    /// Adds `delta` atomically (`$shtinc`); a missing key starts from the initval or 0.
    /// The new value, or nil when the item holds a string or the arena is full.
    public func increment(_ key: String, by delta: Int = 1) -> Int? {
        var result: Int64 = 0
        let rc = withBytes(key) { cs_htable_increment(arena.header, raw, $0, $1, Int64(delta), &result) }
        return rc == 0 ? Int(result) : nil
    }

    /// Makes `key` expire `seconds` from now, 0 = never (`$shtex = n`). False when the
    /// key is missing.
    @discardableResult
    public func setExpiry(_ key: String, seconds: Int) -> Bool {
        let s = UInt32(clamping: max(seconds, 0))
        return withBytes(key) { cs_htable_set_expire(arena.header, raw, $0, $1, s) } == 0
    }

    /// Milliseconds until `key` expires: 0 = never, nil = no such key.
    public func expiryMilliseconds(of key: String) -> UInt64? {
        var remaining: UInt64 = 0
        let rc = withBytes(key) { cs_htable_get_expire(arena.header, raw, $0, $1, &remaining) }
        return rc == 0 ? remaining : nil
    }

    /// Removes `key` (`sht_rm`). False when it was not there.
    @discardableResult
    public func remove(_ key: String) -> Bool {
        withBytes(key) { cs_htable_remove(arena.header, raw, $0, $1) } == 0
    }

    /// Removes every item (`sht_reset`); returns how many.
    @discardableResult
    public func reset() -> Int { Int(cs_htable_reset(arena.header, raw)) }

    /// Removes items whose expiry has passed (for a timer process); returns how many.
    @discardableResult
    public func purgeExpired() -> Int { Int(cs_htable_purge_expired(arena.header, raw, cs_htable_now_ms())) }

    /// Takes the bucket lock of `key` (`sht_lock`). Recursive: this process may operate
    /// on the key (and its bucket neighbours) before `unlock`. `.recovered` when a
    /// holder died inside; the bucket's chain was then checked and repaired.
    @discardableResult
    public func lock(_ key: String) -> SharedLockRef.Acquired {
        withBytes(key) { cs_htable_lock_key(arena.header, raw, $0, $1) } == Int32(CS_LOCK_RECOVERED) ? .recovered : .clean
    }

    /// Releases the bucket lock of `key` taken by `lock(_:)` in this process.
    public func unlock(_ key: String) {
        withBytes(key) { cs_htable_unlock_key(arena.header, raw, $0, $1) }
    }

    /// One item, as a visit copies it out.
    public struct Item: Equatable, Sendable {
        public var key: String
        public var value: SharedValue
        /// Monotonic milliseconds when it expires; nil = never.
        public var expiresAtMilliseconds: UInt64?
    }

    /// Copies every live item out, one bucket lock at a time (bucket order).
    public func items() -> [Item] {
        var items: [Item] = []
        withUnsafeMutablePointer(to: &items) { context in
            _ = cs_htable_visit(arena.header, raw, { context, item, key, string in
                guard let context, let item, let key else { return }
                let it = item.pointee
                let k = String(decoding: UnsafeRawBufferPointer(start: key, count: Int(it.key_len)), as: UTF8.self)
                let value: SharedValue
                if it.type == UInt32(CS_VALUE_STRING.rawValue) {
                    value = .string(String(decoding: UnsafeRawBufferPointer(start: string, count: Int(it.str_len)), as: UTF8.self))
                } else {
                    value = .int(Int(it.int_value))
                }
                context.assumingMemoryBound(to: [Item].self).pointee
                    .append(Item(key: k, value: value, expiresAtMilliseconds: it.expires_ms == 0 ? nil : it.expires_ms))
            }, context)
        }
        return items
    }
}
