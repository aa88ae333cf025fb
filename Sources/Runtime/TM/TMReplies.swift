import SIP
import Script
import Shared

extension MessageContext {
    /// A reply whose top Via carries one of our branch ids: match it to its transaction
    /// branch and act (RFC 3261 17.1 for the client side, 16.7 for the proxy). Returns
    /// false when it matches no live transaction (the caller drops it).
    func handleBranchReply(_ exec: inout ExecContext) -> Bool {
        guard let manager = process.tm, let id = TransactionManager.parseBranchID(message.topVia.branch ?? ""),
              let found = manager.table.lookup(id.id) else { return false }
        let tx = found.transaction
        tm.referenced = consume found
        let b = id.branch
        return tx.withLock { locked in
            guard b < locked.branchCount else { return false }
            process.stats.count(.rplReceived)
            let branch = locked.branch(b)
            var code = message.statusCode
            if branch.flags.contains(.final) {
                // A retransmitted final reply: ACK it again when it was negative.
                if tx.isInvite && code >= 300 { acknowledge(locked, b) }
                return true
            }
            if let route = locked.replyRoute {
                let flow = run(route: route, as: .onreply, &exec)
                // t_on_reply / t_on_failure called in the route arm the transaction.
                if let again = tm.onReply { locked.replyRoute = again }
                if let failure = tm.onFailure { locked.failureRoute = failure }
                if let branchFailure = tm.onBranchFailure { locked.branchFailureRoute = branchFailure }
                // What the route changed goes with the reply (change_reply_status may
                // have changed its code within its class).
                if !applyPendingChanges() {
                    process.log.error("tm", "the edits of onreply_route do not leave a reply that parses; relayed without them")
                }
                code = message.statusCode
                if case .drop = flow, code < 200 { return true }
            }
            if code < 200 {
                provisional(locked, b, code)
                return true
            }
            branch.flags.insert(.final)
            branch.lastStatus = code
            locked.disarm(.branchRetransmission(b))
            locked.disarm(.branchTimeout(b))
            locked.store(message.bytes, in: .branchReply(b))
            if tx.isInvite && code >= 300 { acknowledge(locked, b) }
            if code >= 300 {
                manager.branchFailed(locked, b, code: code, timedOut: false, process, &exec)
            }
            if code < 300 {
                if !locked.contains(.replied) { relayUpstream(locked, message.bytes) }
                for other in 0..<locked.branchCount where other != b { sendCancel(locked, other) }
                return true
            }
            if locked.pendingBranches == 0 && !MessageContext.failOver(locked, status: code, process: process, &exec) {
                manager.decideFinal(locked, process, &exec)
            }
            return true
        }
    }

    /// A 1xx on a branch: retransmissions stop (INVITE), fr_inv_timer takes over, a
    /// pending CANCEL goes out, and anything but 100 is relayed upstream.
    func provisional(_ tx: borrowing LockedTransaction, _ b: Int, _ code: Int) {
        let branch = tx.branch(b)
        let first = !branch.flags.contains(.provisional)
        branch.flags.insert(.provisional)
        branch.lastStatus = max(branch.lastStatus, code)
        if tx.isInvite && first {
            tx.disarm(.branchRetransmission(b))
            tx.arm(.branchTimeout(b), afterMs: tx.inviteTimeoutMs)
        }
        if tx.contains(.canceled) { sendCancel(tx, b) }
        if code > 100 && !tx.contains(.replied) {
            let bytes = Self.removingTopVia(message)
            tx.store(bytes, in: .reply)
            tx.uasStatus = code
            if process.sendUpstream(tx.transaction, bytes) { process.stats.count(.rplSent) }
        }
    }

    /// The hop-by-hop ACK for a negative final reply on branch `b`.
    func acknowledge(_ tx: borrowing LockedTransaction, _ b: Int) {
        guard let sent = try? SIPMessage.parse(tx.bytes(.branchRequest(b))) else { return }
        var out = MessageBuffer(capacity: 512)
        guard (try? ClientRequestBuilder.ack(for: sent, response: message, into: &out)) != nil else { return }
        if let destination = tx.branch(b).destination { process.send(out.bytes, to: destination) }
    }
}
