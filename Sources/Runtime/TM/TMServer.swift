import SIP
import Shared

extension ProcessContext {
    /// Sends bytes to the source of a transaction, from the socket its request came in on
    /// (over its connection, when it came over one).
    /// Returns whether it went out (tm:rpl_sent is counted by the callers that send a
    /// reply for the first time, not by retransmissions).
    @discardableResult
    func sendUpstream(_ tx: Transaction, _ bytes: [UInt8]) -> Bool {
        guard let source = tx.source else { return false }
        guard send(bytes, to: source) else { return false }
        count(.repliesOut)
        return true
    }
}

/// The server side of a transaction: stateful replies, retransmissions absorbed, the
/// ACK of a negative reply.
extension MessageContext {
    /// Sends `code reason` for the transaction (lock taken here; recursive). Keeps the
    /// reply for retransmissions and starts what a final reply starts (retransmission of
    /// an INVITE's negative reply until its ACK; deletion after wt_timer).
    @discardableResult
    func sendStatefulReply(_ tx: Transaction, _ code: Int, _ reason: String,
                           extraHeaders: [(name: String, value: String)] = []) -> Bool {
        guard process.tm != nil else { return false }
        return tx.withLock { locked in
            if locked.contains(.replied) {
                process.log.warning("tm", "\(code) \(reason): the transaction of \(message.callID) already has a final reply")
                return false
            }
            ReplyBuilder.reply(to: message, status: code, reason: reason, tagSeed: process.tagSeed,
                               extraHeaders: extraHeaders + [(name: "Server", value: process.settings.serverHeader)],
                               into: &process.outBuffer)
            let bytes = process.outBuffer.bytes
            locked.store(bytes, in: .reply)
            locked.uasStatus = code
            process.stats.count(.rplGenerated)
            if process.sendUpstream(tx, bytes) { process.stats.count(.rplSent) }
            if code >= 200 {
                finalReplySent(locked)
                closeConnectionIfAsked(after: tx.source)
            }
            return true
        }
    }

    /// In a reply route (this context is the reply): answers the request of the
    /// transaction the reply belongs to, statefully, as `send_reply` and `t_reply` do in
    /// Kamailio's tm onreply_route; the reply itself then ends its branch as usual (a
    /// negative one is ACKed and goes no further: the transaction has its final reply).
    /// Returns the script code: -1 (logged) for a reply of no transaction of ours (the
    /// core reply_route sees only those) or when the transaction has a final reply.
    func replyToTransactionRequest(_ code: Int, _ reason: String, function: String) -> Int {
        guard let tx = tm.referenced?.transaction else {
            process.log.warning("tm", "\(function) in a reply route: the \(message.statusCode) for \(message.callID) belongs to no transaction here, so there is no request to answer")
            return -1
        }
        guard let request = MessageContext.forTransaction(tx, process: process) else { return -1 }
        defer { request.releaseTransactions() }
        return request.sendStatefulReply(tx, code, reason) ? 1 : -1
    }

    /// What follows a final reply upstream.
    func finalReplySent(_ tx: borrowing LockedTransaction) {
        guard let manager = process.tm else { return }
        tx.insert(.replied)
        replied = true
        process.stats.transactionCompleted(status: tx.uasStatus)
        account(tx)
        tx.disarm(.finalResponse)
        tx.endSuspension()
        let negativeInvite = tx.isInvite && tx.uasStatus >= 300
        if !negativeInvite && tx.pendingBranches == 0 {
            // Only the reply is needed to absorb retransmissions from now on: the branch
            // copies go back to the arena (an INVITE's negative keeps them to re-ACK).
            for b in 0..<tx.branchCount {
                tx.free(.branchRequest(b))
                tx.free(.branchReply(b))
            }
            tx.free(.scriptState)
        }
        if negativeInvite {
            // Timer G: retransmit until the ACK comes (over UDP only: a connection
            // delivers it, RFC 3261 §17.2.1); timer H ends it after 64*T1.
            tx.uasRetransmits = 0
            if tx.transaction.source?.transport.isReliable != true {
                tx.arm(.replyRetransmission, afterMs: manager.settings.t1)
            }
            manager.scheduleDeletion(tx, afterMs: 64 * manager.settings.t1)
        } else {
            manager.scheduleDeletion(tx)
        }
    }

    /// A retransmitted request: answer with the last reply, or, for an INVITE that has
    /// none yet, with 100 (as tm's auto_inv_100 does).
    func absorbRetransmission(_ tx: Transaction) {
        guard let manager = process.tm else { return }
        tx.withLock { locked in
            if locked.has(.reply) {
                process.sendUpstream(tx, locked.bytes(.reply))
            } else if tx.isInvite && manager.settings.autoInv100 {
                ReplyBuilder.reply(to: message, status: 100, reason: manager.settings.autoInv100Reason,
                                   tagSeed: process.tagSeed, into: &process.outBuffer)
                process.sendUpstream(tx, process.outBuffer.bytes)
            }
        }
        replied = true
    }

    /// The ACK of a negative final reply we sent: stop retransmitting, keep the
    /// transaction a little longer (timer I) for ACK retransmissions.
    func absorbAck(_ tx: Transaction) {
        guard let manager = process.tm else { return }
        tx.withLock { locked in
            guard locked.contains(.replied), !locked.contains(.acked) else { return }
            locked.insert(.acked)
            locked.disarm(.replyRetransmission)
            manager.scheduleDeletion(locked)
        }
    }

    /// tm's own 100 for a new INVITE (auto_inv_100), sent statefully.
    func sendAutoTrying(_ tx: Transaction) {
        guard let manager = process.tm, tx.isInvite, manager.settings.autoInv100 else { return }
        sendStatefulReply(tx, 100, manager.settings.autoInv100Reason)
    }
}
