import CShared
import SIP
import Script
import Shared

extension MessageContext {
    /// A reply whose top Via carries one of our branch ids: match it to its transaction
    /// branch and act (RFC 3261 17.1 for the client side, 16.7 for the proxy). Returns
    /// false when it matches no live transaction (the caller drops it).
    func handleBranchReply(_ exec: inout ExecContext) -> Bool {
        guard let tm = process.tm, let id = Tx.parseBranchID(message.topVia.branch ?? ""),
              let raw = cs_tx_lookup_id(tm.arena.header, tm.table.raw, id.index, id.label) else { return false }
        let tx = Tx(raw: raw)
        adopt(tx)
        tx.lock()
        defer { tx.unlock() }
        guard id.branch < Int(tx.raw.pointee.branch_count) else { return false }
        let br = tx.branch(id.branch)
        let code = message.statusCode
        if br.pointee.flags & UInt16(CS_BR_FINAL) != 0 {
            // A retransmitted final reply: ACK it again when it was negative.
            if tx.isInvite && code >= 300 { acknowledge(tx, id.branch) }
            return true
        }
        if tx.raw.pointee.on_reply >= 0 {
            let flow = run(route: Int(tx.raw.pointee.on_reply), as: .onreply, &exec)
            if case .drop = flow, code < 200 { return true }
        }
        if code < 200 {
            provisional(tx, id.branch, code)
            return true
        }
        br.pointee.flags |= UInt16(CS_BR_FINAL)
        br.pointee.last_status = UInt32(code)
        tm.disarm(tx, &br.pointee.retr)
        tm.disarm(tx, &br.pointee.fr)
        Tx.store(tm.arena, &br.pointee.reply_off, &br.pointee.reply_len, message.bytes)
        if tx.isInvite && code >= 300 { acknowledge(tx, id.branch) }
        if code < 300 {
            if !tx.has(CS_TX_REPLIED) { relayUpstream(tx, message.bytes) }
            for b in 0..<Int(tx.raw.pointee.branch_count) where b != id.branch { sendCancel(tx, b) }
            return true
        }
        if tm.pendingBranches(tx) == 0 { tm.decideFinal(tx, process, &exec) }
        return true
    }

    /// A 1xx on a branch: retransmissions stop (INVITE), fr_inv_timer takes over, a
    /// pending CANCEL goes out, and anything but 100 is relayed upstream.
    func provisional(_ tx: Tx, _ b: Int, _ code: Int) {
        guard let tm = process.tm else { return }
        let br = tx.branch(b)
        let first = br.pointee.flags & UInt16(CS_BR_PROVISIONAL) == 0
        br.pointee.flags |= UInt16(CS_BR_PROVISIONAL)
        br.pointee.last_status = max(br.pointee.last_status, UInt32(code))
        if tx.isInvite && first {
            tm.disarm(tx, &br.pointee.retr)
            tm.arm(tx, &br.pointee.fr, afterMs: Int(tx.raw.pointee.fr_inv_timeout_ms), kind: Int32(CS_TXT_BRANCH_FR) | Int32(b << 8))
        }
        if tx.has(CS_TX_CANCELED) { sendCancel(tx, b) }
        if code > 100 && !tx.has(CS_TX_REPLIED) {
            let bytes = Self.removingTopVia(message)
            Tx.store(tm.arena, &tx.raw.pointee.reply_off, &tx.raw.pointee.reply_len, bytes)
            tx.raw.pointee.uas_status = UInt32(code)
            sendUpstream(tx, bytes)
        }
    }

    /// The hop-by-hop ACK for a negative final reply on branch `b` (lock held).
    func acknowledge(_ tx: Tx, _ b: Int) {
        guard let tm = process.tm else { return }
        let br = tx.branch(b)
        guard let sent = try? SIPMessage.parse(Tx.load(tm.arena, br.pointee.request_off, br.pointee.request_len)) else { return }
        var out = MessageBuffer(capacity: 512)
        guard (try? ClientRequestBuilder.ack(for: sent, response: message, into: &out)) != nil else { return }
        socket.send(out.bytes, to: SocketAddress(ip: br.pointee.dest_ip, port: br.pointee.dest_port))
    }
}
