import CShared
import SIP
import Shared

extension ProcessContext {
    /// Sends bytes to the source of a transaction, from the socket its request came in on.
    func sendUpstream(_ tx: Tx, _ bytes: [UInt8]) {
        let index = Int(tx.raw.pointee.socket_index)
        let out = index < sockets.count ? sockets[index] : defaultSocket
        if out.send(bytes, to: tx.source) { count(CS_PC_REPLIES_OUT) }
    }
}

/// The server side of a transaction: stateful replies, retransmissions absorbed, the
/// ACK of a negative reply.
extension MessageContext {
    /// Sends `code reason` for the transaction (lock taken here; recursive). Keeps the
    /// reply for retransmissions and starts what a final reply starts (retransmission of
    /// an INVITE's negative reply until its ACK; deletion after wt_timer).
    @discardableResult
    func sendStatefulReply(_ tx: Tx, _ code: Int, _ reason: String) -> Bool {
        guard let tm = process.tm else { return false }
        tx.lock()
        defer { tx.unlock() }
        if tx.has(CS_TX_REPLIED) {
            process.log.warning("tm", "\(code) \(reason): the transaction of \(message.callID) already has a final reply")
            return false
        }
        ReplyBuilder.reply(to: message, status: code, reason: reason, tagSeed: process.tagSeed,
                           extraHeaders: [(name: "Server", value: process.settings.serverHeader)], into: &process.outBuffer)
        let bytes = process.outBuffer.bytes
        Tx.store(tm.arena, &tx.raw.pointee.reply_off, &tx.raw.pointee.reply_len, bytes)
        tx.raw.pointee.uas_status = UInt32(code)
        sendUpstream(tx, bytes)
        if code >= 200 { finalReplySent(tx) }
        return true
    }

    /// What follows a final reply upstream (lock held).
    func finalReplySent(_ tx: Tx) {
        guard let tm = process.tm else { return }
        tx.set(CS_TX_REPLIED)
        replied = true
        tm.disarm(tx, &tx.raw.pointee.fr)
        if tx.has(CS_TX_SUSPENDED) {
            tx.clear(CS_TX_SUSPENDED)
            cs_tx_count_suspended(tm.table.raw, -1)
        }
        let status = Int(tx.raw.pointee.uas_status)
        if !(tx.isInvite && status >= 300) && tm.pendingBranches(tx) == 0 {
            // Only the reply is needed to absorb retransmissions from now on: the branch
            // copies go back to the arena (an INVITE's negative keeps them to re-ACK).
            for b in 0..<Int(tx.raw.pointee.branch_count) {
                let br = tx.branch(b)
                _ = cs_tx_store(tm.arena.header, &br.pointee.request_off, &br.pointee.request_len, nil, 0)
                _ = cs_tx_store(tm.arena.header, &br.pointee.reply_off, &br.pointee.reply_len, nil, 0)
            }
            _ = cs_tx_store(tm.arena.header, &tx.raw.pointee.state_off, &tx.raw.pointee.state_len, nil, 0)
        }
        if tx.isInvite && status >= 300 {
            // Timer G: retransmit until the ACK comes; timer H ends it after 64*T1.
            tx.raw.pointee.uas_retransmits = 0
            tm.arm(tx, &tx.raw.pointee.uas_retr, afterMs: tm.settings.t1, kind: Int32(CS_TXT_UAS_RETR))
            tm.scheduleDeletion(tx, afterMs: 64 * tm.settings.t1)
        } else {
            tm.scheduleDeletion(tx)
        }
    }

    /// Sends bytes to where the transaction's request came from, from the socket it came in on.
    func sendUpstream(_ tx: Tx, _ bytes: [UInt8]) { process.sendUpstream(tx, bytes) }

    /// A retransmitted request: answer with the last reply, or, for an INVITE that has
    /// none yet, with 100 (as tm's auto_inv_100 does).
    func absorbRetransmission(_ tx: Tx) {
        guard let tm = process.tm else { return }
        tx.withLock {
            let (off, len) = tx.lastReply
            if off != 0 {
                sendUpstream(tx, Tx.load(tm.arena, off, len))
            } else if tx.isInvite && tm.settings.autoInv100 {
                ReplyBuilder.reply(to: message, status: 100, reason: tm.settings.autoInv100Reason,
                                   tagSeed: process.tagSeed, into: &process.outBuffer)
                sendUpstream(tx, process.outBuffer.bytes)
            }
        }
        replied = true
    }

    /// The ACK of a negative final reply we sent: stop retransmitting, keep the
    /// transaction a little longer (timer I) for ACK retransmissions.
    func absorbAck(_ tx: Tx) {
        guard let tm = process.tm else { return }
        tx.withLock {
            guard tx.has(CS_TX_REPLIED), !tx.has(CS_TX_ACKED) else { return }
            tx.set(CS_TX_ACKED)
            tm.disarm(tx, &tx.raw.pointee.uas_retr)
            tm.scheduleDeletion(tx)
        }
    }

    /// tm's own 100 for a new INVITE (auto_inv_100), sent statefully.
    func sendAutoTrying(_ tx: Tx) {
        guard let tm = process.tm, tx.isInvite, tm.settings.autoInv100 else { return }
        sendStatefulReply(tx, 100, tm.settings.autoInv100Reason)
    }
}
