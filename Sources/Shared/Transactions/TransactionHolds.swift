import CShared

/// The transaction references one process holds, recorded in its row of section
/// "txholds" (cs_txhold.h) so that the master can settle them if the process dies.
struct TransactionHoldRow {
    let raw: UnsafeMutablePointer<cs_txhold_row>

    static let referenceEntries = Int(CS_TXHOLD_REFS)
    static let dueEntries = Int(CS_TXHOLD_DUE)

    /// Records a reference to the transaction at `offset`; the entry's index, or -1 when
    /// every reference entry is in use (counted; that reference is not covered).
    func record(transactionAt offset: UInt64) -> Int32 { cs_txhold_add(raw, offset | 1) }

    func clear(_ index: Int32) { cs_txhold_set(raw, UInt32(index), 0) }

    /// Due entry `i` becomes the reference to the transaction at `offset` (one store).
    func adoptDue(_ i: Int, transactionAt offset: UInt64) -> Int32 {
        let index = Int32(Self.referenceEntries + i)
        cs_txhold_set(raw, UInt32(index), offset | 1)
        return index
    }

    /// Where cs_wheel_expire writes the links it takes off `wheel` for this process.
    func dueBuffer(servingWheelAt wheelOffset: UInt64) -> UnsafeMutablePointer<UInt64> {
        raw.pointee.wheel = wheelOffset
        return withUnsafeMutablePointer(to: &raw.pointee.entries) {
            UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt64.self) + Self.referenceEntries
        }
    }
}

extension ArenaRef {
    static let transactionHoldsSection = "txholds"

    /// Creates section "txholds" with one row per process-table slot (master, before
    /// fork). Without a process table there is nothing to record per process: no section.
    func installTransactionHolds() throws(ArenaError) {
        guard let table = section(ArenaLayout.processTableSection)?.assumingMemoryBound(to: cs_proc_table.self) else {
            return
        }
        let rows = table.pointee.capacity
        let holds = try addSection(Self.transactionHoldsSection, size: Int(cs_txhold_table_bytes(rows)),
                                   kind: CS_SECTION_TXHOLDS, version: CS_TXHOLD_VERSION)
        cs_txhold_init(holds.assumingMemoryBound(to: cs_txhold_table.self), rows)
    }

    /// Section "txholds", if there is one.
    var transactionHolds: UnsafeMutablePointer<cs_txhold_table>? {
        section(Self.transactionHoldsSection)?.assumingMemoryBound(to: cs_txhold_table.self)
    }
}

/// What the master did with a dead process's row.
public struct SettledHolds: Equatable, Sendable {
    /// Timers it had taken off its wheel and not fired: back in the wheel, due now.
    public var timersRearmed = 0
    /// References it held to transactions: dropped.
    public var referencesDropped = 0
    /// Transactions nobody would have answered: marked orphaned, answered 500 by tm now.
    public var orphaned = 0
    /// Transactions the process died creating, before it filled in where the request came
    /// from: nobody can answer them, so they go at once (a retransmission starts afresh).
    public var removedUnfilled = 0
    /// Answered transactions whose removal the process lost (it died firing their wait
    /// timer, or between the answer and arming it): removed now.
    public var removalsRearmed = 0
    /// Pending branches whose timeout the process lost (it died between disarming and
    /// arming it again): they time out now.
    public var branchTimeoutsRearmed = 0

    public var isEmpty: Bool { timersRearmed == 0 && referencesDropped == 0 }

    /// One line for the log: what was done, the repairs only when there were any.
    public var summary: String {
        var repairs: [String] = []
        if orphaned > 0 { repairs.append("\(orphaned) to be answered 500") }
        if removedUnfilled > 0 { repairs.append("\(removedUnfilled) removed before they were filled in") }
        if removalsRearmed > 0 { repairs.append("\(removalsRearmed) answered, removed now") }
        if branchTimeoutsRearmed > 0 { repairs.append("\(branchTimeoutsRearmed) branch timeouts due now") }
        let detail = repairs.isEmpty ? "" : "; " + repairs.joined(separator: ", ")
        return "\(referencesDropped) transaction references (dropped\(detail)) and \(timersRearmed) taken timers (re-armed)"
    }
}

extension TransactionTable {
    /// Settles what the dead process of `slot` held (the master, after reaping it): every
    /// timer it had taken off its wheel goes back, due now, unless it was armed again
    /// meanwhile; every transaction it held is dropped, after the timers the process may
    /// have lost are armed again (`settleReference`).
    /// With `resumer`, the dead process was the one to resume the suspended transactions it
    /// held (a DNS Worker): those are orphaned too, since nobody else will resume them.
    public func settleHolds(ofSlot slot: Int32, resumer: Bool = false) -> SettledHolds {
        var settled = SettledHolds()
        guard let table = arena.transactionHolds, let row = cs_txhold_row_at(table, UInt32(bitPattern: slot)) else {
            return settled
        }
        let wheelOffset = row.pointee.wheel
        for i in 0..<Int(CS_TXHOLD_ENTRIES) {
            let entry = cs_txhold_get(row, UInt32(i))
            guard entry != 0 else { continue }
            cs_txhold_set(row, UInt32(i), 0)
            if entry & 1 == 1 {
                settleReference(toTransactionAt: entry & ~1, resumer: resumer, &settled)
            } else {
                settleTakenTimer(linkAt: entry, wheelOffset: wheelOffset, &settled)
            }
        }
        _ = cs_atomic_add_u64(&table.pointee.settled, UInt64(settled.timersRearmed + settled.referencesDropped))
        return settled
    }

    /// A transaction the dead process held may be waiting for something only that process
    /// would have done; the timer that ends each such wait is armed, due now:
    /// - answered, and its wait timer (its removal) not armed: the process died firing it
    ///   or between the answer and arming it;
    /// - a branch still pending with no timeout armed: it died between disarming and
    ///   arming it again;
    /// - neither answered, suspended nor waiting on a branch: it died in the middle of the
    ///   route, so it is marked orphaned and tm answers it 500 — unless the process died
    ///   creating it, before it filled in the source an answer needs: then it is removed.
    private func settleReference(toTransactionAt offset: UInt64, resumer: Bool, _ settled: inout SettledHolds) {
        let raw = (arena.base + Int(offset)).assumingMemoryBound(to: cs_tx.self)
        let tx = Transaction(raw, table: self)
        tx.withLock { locked in
            guard !locked.contains(.unlinked) else { return }
            for b in 0..<locked.branchCount where !locked.branch(b).flags.contains(.final) && !locked.isArmed(.branchTimeout(b)) {
                locked.arm(.branchTimeout(b), afterMs: 0)
                settled.branchTimeoutsRearmed += 1
            }
            if locked.contains(.replied) {
                if !locked.isArmed(.wait) {
                    locked.arm(.wait, afterMs: 0)
                    settled.removalsRearmed += 1
                }
                return
            }
            guard resumer || !locked.contains(.suspended), locked.pendingBranches == 0 else { return }
            guard tx.source != nil else {
                locked.disarm(.finalResponse)
                locked.arm(.wait, afterMs: 0)
                settled.removedUnfilled += 1
                return
            }
            raw.pointee.flags |= UInt32(CS_TX_ORPHANED)
            locked.arm(.finalResponse, afterMs: 0)
            settled.orphaned += 1
        }
        cs_tx_unref(arena.header, self.raw, raw)
        settled.referencesDropped += 1
    }

    private func settleTakenTimer(linkAt offset: UInt64, wheelOffset: UInt64, _ settled: inout SettledHolds) {
        let link = (arena.base + Int(offset)).assumingMemoryBound(to: cs_timer_link.self)
        let kind = link.pointee.kind
        guard let raw = cs_tx_from_link(arena.header, offset, kind),
              let which = wheels.first(where: { arena.offset(of: $0.value.raw) == wheelOffset }) else { return }
        let tx = Transaction(raw, table: self)
        let rearmed = tx.withLock { _ -> Bool in
            // Armed again meanwhile (its own reference taken then): the taken one goes.
            guard link.pointee.slot == 0 else { return false }
            cs_wheel_arm(arena.header, which.value.raw, link, cs_now_ms(), kind)
            bell(for: which.key)?.ring()
            return true
        }
        if rearmed {
            settled.timersRearmed += 1
        } else {
            cs_tx_unref(arena.header, self.raw, raw)
            settled.referencesDropped += 1
        }
    }
}
