import CShared
import SIP
import Shared

/// tm in one process: the shared transaction table and timer wheel, and its settings.
final class TMState {
    let settings: TMSettings
    let arena: ArenaRef
    let table: TxTableRef
    let wheel: TimerWheelRef

    init(settings: TMSettings, arena: ArenaRef, sections: TransactionSections) {
        self.settings = settings
        self.arena = arena
        self.table = sections.table
        self.wheel = sections.wheel(named: "tm")!
    }

    static let wheelName = "tm"
    /// The tm wheel: 10 ms ticks, 4096 slots (a lap of 41 s; longer timers wait laps).
    static let wheelSpec = (name: wheelName, tickMs: 10, slots: 4096)

    func arm(_ tx: Tx, _ link: UnsafeMutablePointer<cs_timer_link>, afterMs: Int, kind: Int32) {
        cs_tx_timer_arm(arena.header, wheel.raw, tx.raw, link, cs_now_ms() + UInt64(max(afterMs, 0)), UInt32(kind))
        cs_doorbell_ring(timerBell, 1) // a load unless the timer process sleeps
    }

    /// The doorbell the `timer` process sleeps on while the wheel is empty.
    var timerBell: UnsafeMutablePointer<cs_doorbell> {
        (UnsafeMutableRawPointer(table.raw) + MemoryLayout<cs_tx_table>.offset(of: \cs_tx_table.timer_bell)!)
            .assumingMemoryBound(to: cs_doorbell.self)
    }

    func disarm(_ tx: Tx, _ link: UnsafeMutablePointer<cs_timer_link>) {
        _ = cs_tx_timer_disarm(arena.header, wheel.raw, table.raw, tx.raw, link)
    }

    func unref(_ tx: Tx) { cs_tx_unref(arena.header, table.raw, tx.raw) }

    /// Ends a transaction's life: no more lookups; timers off; freed when the last
    /// reference goes.
    func finish(_ tx: Tx) {
        cs_tx_timer_disarm_all(arena.header, wheel.raw, table.raw, tx.raw)
        if tx.has(CS_TX_SUSPENDED) {
            tx.clear(CS_TX_SUSPENDED)
            cs_tx_count_suspended(table.raw, -1)
        }
        cs_tx_unlink(arena.header, table.raw, tx.raw)
    }

    /// Keeps a finished transaction for `wt_timer` to absorb retransmissions, then
    /// removes it.
    func scheduleDeletion(_ tx: Tx, afterMs: Int? = nil) {
        arm(tx, &tx.raw.pointee.wait, afterMs: afterMs ?? settings.wtTimer, kind: Int32(CS_TXT_WAIT))
    }
}

extension MessageContext {
    /// The transaction of this request, looked up (not created). A reference is kept on
    /// the message context and released when the message is done.
    func lookupTransaction() -> Tx? {
        if let tx = transaction { return tx }
        guard let tm = process.tm, message.isRequest else { return nil }
        let key = TransactionKey(request: message)
        let lookupKey = message.method == .cancel ? key.inviteKey : key
        guard let raw = lookupKey.bytes.withUnsafeBufferPointer({
            cs_tx_lookup(tm.arena.header, tm.table.raw, lookupKey.hash, $0.baseAddress, UInt32($0.count))
        }) else { return nil }
        let tx = Tx(raw: raw)
        if message.method != .cancel && message.method != .ack { transaction = tx } else { adopt(tx) }
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
    func findOrCreateTransaction() -> (tx: Tx, origin: TransactionOrigin)? {
        if let tx = transaction { return (tx, .ours) }
        guard let tm = process.tm else { return nil }
        let key = TransactionKey(request: message)
        var created: Int32 = 0
        let callID = message.callIDRange
        let methodLength = message.methodRange.upperBound
        let raw = key.bytes.withUnsafeBufferPointer { k in
            message.bytes.withUnsafeBufferPointer { r in
                cs_tx_find_or_create_locked(tm.arena.header, tm.table.raw, key.hash, k.baseAddress, UInt32(k.count),
                                     r.baseAddress, UInt32(r.count), UInt32(callID.lowerBound),
                                     UInt32(callID.count), UInt32(methodLength), &created)
            }
        }
        guard let raw else {
            process.log.error("tm", "no shared memory for a new transaction (\(message.callID))")
            return nil
        }
        let tx = Tx(raw: raw)
        transaction = tx
        if created != 0 {
            // Created locked: fill it in, then let others see it.
            defer { tx.unlock() }
            do {
                raw.pointee.src_ip = source.ip
                raw.pointee.src_port = replyDestination.port
                raw.pointee.socket_index = UInt16(process.sockets.firstIndex { $0.fd == socket.fd } ?? 0)
                raw.pointee.fr_timeout_ms = UInt32(clamping: frTimeout ?? tm.settings.frTimer)
                raw.pointee.fr_inv_timeout_ms = UInt32(clamping: frInvTimeout ?? tm.settings.frInvTimer)
                raw.pointee.msg_flags = flagsForTransaction
                raw.pointee.on_failure = onFailure
                raw.pointee.on_reply = onReply
                raw.pointee.on_branch = onBranch
                if message.method == .invite { tx.set(CS_TX_INVITE) }
                _ = tx.saveState(tm.arena, ScriptState(of: self))
            }
        }
        return (tx, created != 0 ? .created : .retransmission)
    }

    /// Keeps a reference to a transaction that is not this message's own (the INVITE a
    /// CANCEL or ACK refers to), to be released with the message.
    func adopt(_ tx: Tx) { otherTransactions.append(tx) }

    /// Like Kamailio's tm at the end of the script: a transaction this message created and
    /// left with no reply, no branch and no suspension is released (kept for wt_timer to
    /// absorb retransmissions, then removed) rather than left in the arena.
    func releaseUnfinishedTransaction() {
        guard let tm = process.tm, let tx = transaction else { return }
        tx.withLock {
            let busy = CS_TX_REPLIED | CS_TX_SUSPENDED | CS_TX_RELAYED | CS_TX_CANCELED | CS_TX_UNLINKED
            guard Int(tx.raw.pointee.flags) & busy == 0, tx.raw.pointee.wait.slot == 0 else { return }
            tm.disarm(tx, &tx.raw.pointee.fr)
            tm.scheduleDeletion(tx)
        }
    }

    /// Releases the references this message holds. Called once the message is handled.
    func releaseTransactions() {
        guard let tm = process.tm else { return }
        if let tx = transaction { tm.unref(tx) }
        for tx in otherTransactions { tm.unref(tx) }
        transaction = nil
        otherTransactions = []
    }
}
