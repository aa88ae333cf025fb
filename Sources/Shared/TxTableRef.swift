import CShared

/// A view of tm's transaction table in the arena (section "txtable").
///
/// Owned by the arena; no `deinit`. Any server process may create, find, lock, answer
/// and release any transaction. A transaction (`cs_tx`) is one arena block: header, key
/// bytes, the request as received; it is named by `(index, label)`, where the label is a
/// per-bucket generation number, so a stale name never reaches a reused slot.
///
/// Lifetime is a reference count: every `findOrCreate` and `lookup` result carries one
/// reference for the caller, released with `unref(_:)`; the table holds one while the
/// transaction is linked (dropped by `unlink(_:)`), and every armed timer link holds one
/// (see `armTimer`). Using a transaction after releasing your reference is a
/// use-after-free. Bucket locks are robust (a killed holder's bucket is repaired by the
/// next locker); the counters are relaxed loads.
public struct TxTableRef: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_tx_table>

    public typealias Transaction = UnsafeMutablePointer<cs_tx>

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_tx_table>) {
        self.arena = arena
        self.raw = raw
    }

    public var bucketCount: Int { Int(raw.pointee.bucket_count) }
    /// Transactions allocated and not yet freed.
    public var live: UInt64 { cs_atomic_load_u64(&raw.pointee.live) }
    public var created: UInt64 { cs_atomic_load_u64(&raw.pointee.created) }
    public var destroyed: UInt64 { cs_atomic_load_u64(&raw.pointee.destroyed) }
    /// The gauge kept with `countSuspended(_:)`.
    public var suspended: UInt64 { cs_atomic_load_u64(&raw.pointee.suspended) }
    /// `(index, label)` lookups that found nothing.
    public var staleLookups: UInt64 { cs_atomic_load_u64(&raw.pointee.stale_lookups) }
    /// Creations refused for want of memory.
    public var failedCreates: UInt64 { cs_atomic_load_u64(&raw.pointee.failed_creates) }

    /// Finds the transaction of `key` (whose stable hash is `hash`) or creates it from
    /// `request`, atomically under the bucket lock. `callIDRange` locates the Call-ID
    /// value in `request` and `methodLength` the method at its start (for respite-shm).
    /// The result carries a reference for the caller; nil when the arena is full
    /// (nothing was created; `failedCreates` counts it).
    public func findOrCreate(hash: UInt64, key: UnsafeRawBufferPointer, request: UnsafeRawBufferPointer,
                             callIDRange: Range<Int>, methodLength: Int) -> (tx: Transaction, created: Bool)? {
        var created: Int32 = 0
        let tx = cs_tx_find_or_create(
            arena.header, raw, hash, bytes(key), UInt32(key.count), bytes(request), UInt32(request.count),
            UInt32(clamping: callIDRange.lowerBound), UInt32(clamping: callIDRange.count),
            UInt32(clamping: methodLength), &created)
        return tx.map { ($0, created != 0) }
    }

    /// `findOrCreate` with byte arrays.
    public func findOrCreate(hash: UInt64, key: [UInt8], request: [UInt8], callIDRange: Range<Int>,
                             methodLength: Int) -> (tx: Transaction, created: Bool)? {
        key.withUnsafeBytes { k in
            request.withUnsafeBytes { r in
                findOrCreate(hash: hash, key: k, request: r, callIDRange: callIDRange, methodLength: methodLength)
            }
        }
    }

    /// The linked transaction of `key`, with a reference for the caller, or nil.
    public func lookup(hash: UInt64, key: UnsafeRawBufferPointer) -> Transaction? {
        cs_tx_lookup(arena.header, raw, hash, bytes(key), UInt32(key.count))
    }

    /// `lookup(hash:key:)` with a byte array.
    public func lookup(hash: UInt64, key: [UInt8]) -> Transaction? {
        key.withUnsafeBytes { lookup(hash: hash, key: $0) }
    }

    /// The linked transaction named `(index, label)`, with a reference for the caller;
    /// nil (counted in `staleLookups`) when it is gone or the label is an older one.
    public func lookup(index: UInt32, label: UInt32) -> Transaction? {
        cs_tx_lookup_id(arena.header, raw, index, label)
    }

    /// Takes another reference.
    public func ref(_ tx: Transaction) { cs_tx_ref(tx) }

    /// Drops a reference; the last one frees the transaction and every block it owns.
    public func unref(_ tx: Transaction) { cs_tx_unref(arena.header, raw, tx) }

    /// Removes it from its bucket (lookups stop finding it) and drops the table's
    /// reference. Idempotent; the caller's own reference stays valid.
    public func unlink(_ tx: Transaction) { cs_tx_unlink(arena.header, raw, tx) }

    /// Takes the transaction's reply lock (recursive). `.recovered` when a holder died.
    @discardableResult
    public func lock(_ tx: Transaction) -> SharedLockRef.Acquired {
        cs_tx_lock(tx) == Int32(CS_LOCK_RECOVERED) ? .recovered : .clean
    }

    public func unlock(_ tx: Transaction) { cs_tx_unlock(tx) }

    /// Arms one of `tx`'s links in `wheel`; the timer takes a reference when the link was
    /// not armed yet. `kind` is a `CS_TXT_*` value (plus `branch << 8` for a branch's
    /// links) that must match the link's place in `tx`. The caller holds a reference.
    public func armTimer(_ tx: Transaction, link: UnsafeMutablePointer<cs_timer_link>, in wheel: TimerWheelRef,
                         dueMs: UInt64, kind: UInt32) {
        cs_tx_timer_arm(arena.header, wheel.raw, tx, link, dueMs, kind)
    }

    /// Disarms one of `tx`'s links, dropping the timer's reference when it was armed.
    @discardableResult
    public func disarmTimer(_ tx: Transaction, link: UnsafeMutablePointer<cs_timer_link>, in wheel: TimerWheelRef) -> Bool {
        cs_tx_timer_disarm(arena.header, wheel.raw, raw, tx, link) == 1
    }

    /// Disarms every link of `tx` (all armed in `wheel`).
    public func disarmAllTimers(_ tx: Transaction, in wheel: TimerWheelRef) {
        cs_tx_timer_disarm_all(arena.header, wheel.raw, raw, tx)
    }

    /// The transaction a fired link belongs to (its timer reference now belongs to the
    /// caller), or nil for a kind that is not a transaction's.
    public func transaction(fromLink offset: UInt64, kind: UInt32) -> Transaction? {
        cs_tx_from_link(arena.header, offset, kind)
    }

    /// Replaces a stored buffer (`reply_off/reply_len`, `state_off/state_len`, a branch's
    /// request or reply) with a copy of `bytes`; empty frees it. Caller holds the tx
    /// lock. False when the arena is full (the old buffer stays).
    public func store(_ content: UnsafeRawBufferPointer, offset: UnsafeMutablePointer<UInt64>,
                      length: UnsafeMutablePointer<UInt32>) -> Bool {
        cs_tx_store(arena.header, offset, length, content.isEmpty ? nil : bytes(content), UInt32(content.count)) == 0
    }

    /// The bytes of a stored buffer (empty when none).
    public func stored(offset: UInt64, length: UInt32) -> UnsafeRawBufferPointer {
        offset == 0 ? UnsafeRawBufferPointer(start: nil, count: 0)
            : UnsafeRawBufferPointer(start: arena.base + Int(offset), count: Int(length))
    }

    /// Adjusts the `suspended` gauge by +1 or -1.
    public func countSuspended(_ delta: Int) { cs_tx_count_suspended(raw, Int32(delta)) }

    /// The key copy of `tx`.
    public func key(of tx: Transaction) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: cs_tx_key(tx), count: Int(tx.pointee.key_len))
    }

    /// The request copy of `tx` (as received).
    public func request(of tx: Transaction) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: cs_tx_request(tx), count: Int(tx.pointee.request_len))
    }

    /// The bytes' address for C, which reads none when the count is 0 (nil is fine then).
    private func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }
}
