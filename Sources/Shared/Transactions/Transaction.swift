import CShared

/// A view of one transaction in the arena (cs_tx.h). It owns nothing: whoever holds it
/// also holds a `TransactionReference` (or is inside a lock scope reached from one), which
/// keeps the transaction alive.
///
/// Outside a lock only what never changes after creation can be read: the name, whether it
/// is an INVITE, the request as received and where it came from. Everything else is read
/// and changed in `withLock`.
public struct Transaction: Equatable, @unchecked Sendable {
    let raw: UnsafeMutablePointer<cs_tx>
    unowned(unsafe) let table: TransactionTable

    init(_ raw: UnsafeMutablePointer<cs_tx>, table: TransactionTable) {
        self.raw = raw
        self.table = table
    }

    public static func == (a: Transaction, b: Transaction) -> Bool { a.raw == b.raw }

    public var id: TransactionID { TransactionID(index: raw.pointee.index, label: raw.pointee.label) }
    public var isInvite: Bool { raw.pointee.flags & UInt32(CS_TX_INVITE) != 0 }

    /// The request as received (a copy out of the arena).
    public var request: [UInt8] {
        Array(UnsafeBufferPointer(start: cs_tx_request(raw), count: Int(raw.pointee.request_len)))
    }

    /// Where the request came from (the port replies go to), over which transport and
    /// connection, and which of the server's listen sockets received it. nil only in a
    /// damaged arena.
    public var source: SIPPeer? { SIPPeer(raw.pointee.src) }

    /// Takes the transaction's lock (tm's reply lock; recursive) for `body`. Changes are
    /// only possible in here. A lock whose last holder died inside it goes through the
    /// table's `onRecoveredLock` before `body` runs.
    @inline(__always)
    public func withLock<R>(_ body: (borrowing LockedTransaction) -> R) -> R {
        let acquired = cs_tx_lock(raw)
        defer { cs_tx_unlock(raw) }
        if acquired == Int32(CS_LOCK_RECOVERED) { table.onRecoveredLock(self) }
        return body(LockedTransaction(self))
    }

    /// Another reference to this transaction (the caller's keeps it alive meanwhile).
    public func retain() -> TransactionReference {
        cs_tx_ref(raw)
        return TransactionReference(adopting: raw, table: table)
    }
}

/// One counted reference to a transaction: while it exists the transaction's memory stays;
/// when it goes (`deinit`), the reference is dropped, and the last one frees every block
/// of the transaction. It cannot be copied, so a reference is released exactly once.
///
/// While it exists it is recorded in the process's row of section "txholds", so that the
/// master can drop it if the process dies (cs_txhold.h).
public struct TransactionReference: ~Copyable, @unchecked Sendable {
    public let transaction: Transaction
    /// Its entry in the process's hold row (-1: not recorded).
    let holdIndex: Int32

    /// Takes over a reference that `raw` already carries for the caller.
    init(adopting raw: UnsafeMutablePointer<cs_tx>, table: TransactionTable) {
        transaction = Transaction(raw, table: table)
        holdIndex = table.holds?.record(transactionAt: table.arena.offset(of: raw)) ?? -1
    }

    /// Takes over the reference of a timer the process took off its wheel into due entry
    /// `due` of its hold row: the entry becomes this reference's.
    init(adoptingDue due: Int, _ raw: UnsafeMutablePointer<cs_tx>, table: TransactionTable, row: TransactionHoldRow) {
        transaction = Transaction(raw, table: table)
        holdIndex = row.adoptDue(due, transactionAt: table.arena.offset(of: raw))
    }

    deinit {
        let table = transaction.table
        // The record goes first: dying between the two leaks one reference, never drops
        // one twice.
        if holdIndex >= 0 { table.holds?.clear(holdIndex) }
        cs_tx_unref(table.arena.header, table.raw, transaction.raw)
    }
}
