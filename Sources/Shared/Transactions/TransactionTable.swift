import CShared

/// tm's transaction table in the arena (section "txtable", cs_tx.h), with the wheels whose
/// links belong to transactions: the only way Swift reaches a `cs_tx`.
///
/// One instance per process, made after fork (`TransactionSections.table(...)`) and kept
/// for the process's life: the `Transaction` views it hands out point back to it without
/// a reference count. Any server process may create, find, lock, answer and release any
/// transaction. Bucket locks are robust; the counters are relaxed loads.
///
/// Lifetime of a transaction: a reference count. Every `findOrCreate` and `lookup` result
/// is a `TransactionReference` that drops its reference when it goes; the table holds one
/// while the transaction is linked (dropped by `LockedTransaction.finish()`); every armed
/// timer link holds one.
public final class TransactionTable: @unchecked Sendable {
    public let arena: ArenaRef
    let raw: UnsafeMutablePointer<cs_tx_table>
    let wheels: [TransactionWheel: TimerWheelRef]
    let asyncState: AsyncSharedState?
    /// This process's row of section "txholds": every reference it holds is recorded
    /// there (nil in the master, and in arenas without the section).
    let holds: TransactionHoldRow?
    /// Called with the lock held when a lock comes back from a holder that died inside it.
    let onRecoveredLock: (Transaction) -> Void

    /// - Parameters:
    ///   - asyncState: the async module's bells (nil without the async module): arming a
    ///     wait in an async wheel rings its timer processes.
    ///   - onRecoveredLock: what this process does when it takes a transaction's lock
    ///     whose last holder died inside it (killed mid-change). Every field of a
    ///     transaction is written by single stores and every stored buffer is replaced
    ///     whole (the new block is in place before the old is freed), so what the dead
    ///     holder left is a consistent, maybe older, state; the handler logs it and the
    ///     caller's work goes on.
    init(arena: ArenaRef, raw: UnsafeMutablePointer<cs_tx_table>, wheels: [TransactionWheel: TimerWheelRef],
         asyncState: AsyncSharedState?, holds: TransactionHoldRow?, onRecoveredLock: @escaping (Transaction) -> Void) {
        self.arena = arena
        self.raw = raw
        self.wheels = wheels
        self.asyncState = asyncState
        self.holds = holds
        self.onRecoveredLock = onRecoveredLock
    }

    public var bucketCount: Int { Int(raw.pointee.bucket_count) }
    /// Transactions allocated and not yet freed.
    public var live: UInt64 { cs_atomic_load_u64(&raw.pointee.live) }
    public var created: UInt64 { cs_atomic_load_u64(&raw.pointee.created) }
    public var destroyed: UInt64 { cs_atomic_load_u64(&raw.pointee.destroyed) }
    /// Transactions suspended now.
    public var suspended: UInt64 { cs_atomic_load_u64(&raw.pointee.suspended) }
    /// `(index, label)` lookups that found nothing.
    public var staleLookups: UInt64 { cs_atomic_load_u64(&raw.pointee.stale_lookups) }
    /// Creations refused for want of memory.
    public var failedCreates: UInt64 { cs_atomic_load_u64(&raw.pointee.failed_creates) }

    /// A wheel of this table (nil when the config does not use it).
    public func wheel(_ which: TransactionWheel) -> TimerWheelRef? { wheels[which] }

    /// What a request needs to find or create its transaction.
    public struct Key {
        /// The transaction key's stable hash and bytes (SIP's TransactionKey).
        public var hash: UInt64
        public var bytes: [UInt8]

        public init(hash: UInt64, bytes: [UInt8]) {
            self.hash = hash
            self.bytes = bytes
        }
    }

    /// Finds the transaction of `key`, or creates it from `request` atomically under the
    /// bucket lock (a request and its retransmission in two receivers never make two). A
    /// new one is filled in by `initialize` with its lock held, before any other process
    /// can see it. `callIDRange` and `methodLength` locate the Call-ID value and the method
    /// in `request` (for respite-shm). nil when the arena is full (nothing was created;
    /// `failedCreates` counts it).
    public func findOrCreate(_ key: Key, request: [UInt8], callIDRange: Range<Int>, methodLength: Int,
                             initialize: (borrowing LockedTransaction) -> Void) -> FoundTransaction? {
        var created: Int32 = 0
        let found = key.bytes.withUnsafeBufferPointer { k in
            request.withUnsafeBufferPointer { r in
                cs_tx_find_or_create_locked(arena.header, raw, key.hash, k.baseAddress, UInt32(k.count),
                                            r.baseAddress, UInt32(r.count), UInt32(clamping: callIDRange.lowerBound),
                                            UInt32(clamping: callIDRange.count), UInt32(clamping: methodLength), &created)
            }
        }
        guard let found else { return nil }
        let reference = TransactionReference(adopting: found, table: self)
        if created != 0 {
            // Created locked (by cs_tx_find_or_create_locked): fill it in, then publish.
            let transaction = reference.transaction
            initialize(LockedTransaction(transaction))
            cs_tx_unlock(found)
        }
        return FoundTransaction(reference: reference, created: created != 0)
    }

    /// The linked transaction of `key`, or nil.
    public func lookup(_ key: Key) -> TransactionReference? {
        let found = key.bytes.withUnsafeBufferPointer {
            cs_tx_lookup(arena.header, raw, key.hash, $0.baseAddress, UInt32($0.count))
        }
        return found.map { TransactionReference(adopting: $0, table: self) }
    }

    /// The linked transaction named `id`; nil (counted in `staleLookups`) when it is gone
    /// or the label is an older one.
    public func lookup(_ id: TransactionID) -> TransactionReference? {
        cs_tx_lookup_id(arena.header, raw, id.index, id.label).map { TransactionReference(adopting: $0, table: self) }
    }

    /// The doorbell the timer process(es) of `wheel` sleep on while it is empty.
    func bell(for wheel: TransactionWheel) -> DoorbellRef? {
        if wheel == .tm {
            return DoorbellRef((UnsafeMutableRawPointer(raw) + MemoryLayout<cs_tx_table>.offset(of: \.timer_bell)!)
                .assumingMemoryBound(to: cs_doorbell.self))
        }
        return asyncState?.bell(for: wheel)
    }
}

/// The result of `TransactionTable.findOrCreate`.
public struct FoundTransaction: ~Copyable {
    public var reference: TransactionReference
    /// This call created it (else another copy of the request did: a retransmission).
    public let created: Bool

    /// The reference, for keeping.
    public consuming func take() -> TransactionReference { reference }
}

/// tm's shared structures in the arena: the transaction table and the timing wheels.
/// Created by the master before it forks (`ArenaRef.installTransactions`); found again
/// by any process that has the arena mapped (`ArenaRef.transactionSections()`).
public struct TransactionSections: @unchecked Sendable {
    let arena: ArenaRef
    let table: UnsafeMutablePointer<cs_tx_table>
    /// In creation order.
    public let wheels: [TimerWheelRef]

    /// The wheel called `name`, or nil.
    public func wheel(named name: String) -> TimerWheelRef? {
        wheels.first { $0.name == name }
    }

    /// This process's view of the table (call once per process, after fork). `slot`, the
    /// process's slot in the process table, is where its references are recorded for the
    /// master to settle if it dies (nil: not recorded, as in the master itself).
    public func table(asyncState: AsyncSharedState?, slot: Int32? = nil,
                      onRecoveredLock: @escaping (Transaction) -> Void) -> TransactionTable {
        var byKind: [TransactionWheel: TimerWheelRef] = [:]
        for kind in TransactionWheel.allCases { byKind[kind] = wheel(named: kind.rawValue) }
        let row = slot.flatMap { s in arena.transactionHolds.flatMap { cs_txhold_row_at($0, UInt32(bitPattern: s)) } }
        return TransactionTable(arena: arena, raw: table, wheels: byKind, asyncState: asyncState,
                                holds: row.map(TransactionHoldRow.init), onRecoveredLock: onRecoveredLock)
    }

    public static let tableSection = "txtable"
    /// Each wheel's section is this prefix followed by the wheel's name.
    public static let wheelSectionPrefix = "wheel."
    /// The longest wheel name that fits a section name.
    public static let maxWheelName = Int(CS_SECTION_NAME_MAX) - 1 - wheelSectionPrefix.utf8.count
}
