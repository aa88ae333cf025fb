import SIP
import Shared

/// tm in one process: the shared transaction table (with its timer wheels) and tm's
/// settings.
final class TransactionManager {
    let settings: TMSettings
    let table: TransactionTable

    init(settings: TMSettings, table: TransactionTable) {
        self.settings = settings
        self.table = table
    }

    /// Ends `tx` (LockedTransaction.finish) and counts tm:freed the first time.
    func finish(_ tx: borrowing LockedTransaction, _ process: ProcessContext) {
        if !tx.contains(.unlinked) { process.stats.count(.freed) }
        tx.finish()
    }

    /// Keeps a finished transaction for `wt_timer` (or `afterMs`) to absorb
    /// retransmissions, then removes it.
    func scheduleDeletion(_ tx: borrowing LockedTransaction, afterMs: Int? = nil) {
        tx.arm(.wait, afterMs: afterMs ?? settings.wtTimer)
    }

    /// The branch parameter Respite puts in the Via of a request it relays: it names the
    /// transaction and branch, so a reply finds them without a search.
    static func branchID(_ id: TransactionID, _ b: Int) -> String {
        "z9hG4bKrsp\(String(id.index, radix: 16)).\(String(id.label, radix: 16)).\(b)"
    }

    /// (transaction, branch) from a branch parameter written by `branchID`.
    static func parseBranchID(_ s: String) -> (id: TransactionID, branch: Int)? {
        guard s.hasPrefix("z9hG4bKrsp") else { return nil }
        let parts = s.dropFirst(10).split(separator: ".")
        guard parts.count == 3, let i = UInt32(parts[0], radix: 16), let l = UInt32(parts[1], radix: 16),
              let b = Int(parts[2]), (0..<LockedTransaction.maxBranches).contains(b) else { return nil }
        return (TransactionID(index: i, label: l), b)
    }
}

extension MessageContext {
    /// The transaction of this request, looked up (not created). The reference is kept on
    /// the message context and released when the message is done.
    func lookupTransaction() -> Transaction? {
        if let tx = transaction { return tx }
        let ownRequest = message.method != .cancel && message.method != .ack
        if !ownRequest, let tx = tm.referenced?.transaction { return tx }
        guard let manager = process.tm, message.isRequest else { return nil }
        let key = TransactionKey(request: message)
        let lookupKey = message.method == .cancel ? key.inviteKey : key
        guard let found = manager.table.lookup(TransactionTable.Key(hash: lookupKey.hash, bytes: lookupKey.bytes)) else {
            return nil
        }
        let tx = found.transaction
        if ownRequest { tm.reference = consume found } else { tm.referenced = consume found }
        return tx
    }

    /// Where the transaction a message works with came from.
    enum TransactionOrigin {
        /// This call created it.
        case created
        /// It is already this message's (an earlier t_newtran, or a failure or resumed
        /// route working on its own transaction).
        case ours
        /// Another copy of the request made it: this one is a retransmission.
        case retransmission
    }

    /// Finds or creates the transaction of this request. nil when the arena is full.
    func findOrCreateTransaction() -> (tx: Transaction, origin: TransactionOrigin)? {
        if let tx = transaction { return (tx, .ours) }
        guard let manager = process.tm else { return nil }
        let key = TransactionKey(request: message)
        guard let found = manager.table.findOrCreate(
            TransactionTable.Key(hash: key.hash, bytes: key.bytes), request: message.bytes,
            callIDRange: message.callIDRange, methodLength: message.methodRange.upperBound,
            initialize: { tx in
                tx.setOrigin(replyPeer, isInvite: message.method == .invite)
                tx.finalResponseTimeoutMs = tm.frTimeout ?? manager.settings.frTimer
                tx.inviteTimeoutMs = tm.frInvTimeout ?? manager.settings.frInvTimer
                tx.messageFlags = tm.flagsForTransaction
                tx.failureRoute = tm.onFailure
                tx.replyRoute = tm.onReply
                tx.branchRoute = tm.onBranch
                tx.branchFailureRoute = tm.onBranchFailure
                tx.store(edits.encoded(), in: .scriptState)
            })
        else {
            process.log.error("tm", "no shared memory for a new transaction (\(message.callID))")
            return nil
        }
        let created = found.created
        if created {
            process.stats.count(.total)
            process.stats.count(.created)
        }
        tm.reference = found.take()
        return (transaction!, created ? .created : .retransmission)
    }

    /// Like Kamailio's tm at the end of the script: a transaction this message created and
    /// left with no reply, no branch and no suspension is released (kept for wt_timer to
    /// absorb retransmissions, then removed) rather than left in the arena.
    func releaseUnfinishedTransaction() {
        guard let manager = process.tm, let tx = transaction else { return }
        if answerRelayError(tx) { return }
        tx.withLock { locked in
            guard !locked.contains([.replied, .suspended, .relayed, .canceled, .unlinked]), !locked.isArmed(.wait) else {
                return
            }
            locked.disarm(.finalResponse)
            manager.scheduleDeletion(locked)
        }
    }

    /// Releases the references this message holds. Called once the message is handled.
    func releaseTransactions() {
        tm.reference = nil
        tm.referenced = nil
    }
}
