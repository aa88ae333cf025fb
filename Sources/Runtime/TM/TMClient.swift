import CShared
import SIP
import Script
import Shared

/// The client side: `t_relay` branches, their retransmissions, CANCEL.
extension MessageContext {
    /// `t_relay([host, port])`. Returns the script code.
    func relay(host: String?, port: Int?, _ exec: inout ExecContext) -> Int {
        let flags = exec.flags
        guard process.tm != nil else { return -1 }
        switch message.method {
        case .ack:
            // The ACK of a negative reply ends at us (we ACKed downstream ourselves); an
            // ACK for a 2xx is a request of its own and goes on statelessly.
            if let tx = lookupTransaction() {
                absorbAck(tx)
                return 1
            }
            return forwardStatelessly(host: host, port: port) ? 1 : -1
        case .cancel:
            return relayCancel()
        default:
            break
        }
        flagsForTransaction = flags
        guard let (tx, origin) = findOrCreateTransaction() else { return -1 }
        switch origin {
        case .retransmission:
            absorbRetransmission(tx)
            return 0
        case .created: sendAutoTrying(tx)
        case .ours: break
        }
        return addBranch(tx, host: host, port: port, &exec) ? 1 : -1
    }

    /// Sends the request on a new branch of `tx` and starts its timers; `t_on_branch`'s
    /// route runs first and may `drop` the branch.
    func addBranch(_ tx: Tx, host: String?, port: Int?, _ exec: inout ExecContext) -> Bool {
        let flags = exec.flags
        guard let tm = process.tm else { return false }
        tx.lock()
        defer { tx.unlock() }
        if tx.has(CS_TX_REPLIED) || tx.has(CS_TX_CANCELED) { return false }
        let b = Int(tx.raw.pointee.branch_count)
        guard b < Int(CS_TX_MAX_BRANCHES) else {
            process.log.error("tm", "t_relay: no more than \(CS_TX_MAX_BRANCHES) branches per transaction")
            return false
        }
        let branchRoute = tx.raw.pointee.on_branch
        if branchRoute >= 0, case .drop = run(route: Int(branchRoute), as: .branch, &exec) {
            process.log.info("tm", "branch_route dropped the branch of \(message.callID)")
            return false
        }
        guard let destination = nextHop(overrideHost: host, overridePort: port) else {
            process.log.error("tm", "t_relay: cannot resolve \(destinationURI ?? requestURI)")
            return false
        }
        do {
            try buildForward(branch: tx.branchID(b))
        } catch {
            if error == .maxForwardsExhausted { sendStatefulReply(tx, 483, "Too Many Hops") }
            process.log.error("tm", "t_relay: \(error)")
            return false
        }
        let bytes = process.outBuffer.bytes
        let br = tx.branch(b)
        br.pointee.dest_ip = destination.ip
        br.pointee.dest_port = destination.port
        br.pointee.flags = UInt16(CS_BR_USED)
        br.pointee.last_status = 0
        br.pointee.retransmits = 0
        br.pointee.retr_interval_ms = UInt32(tm.settings.t1)
        guard Tx.store(tm.arena, &br.pointee.request_off, &br.pointee.request_len, bytes) else {
            process.log.error("tm", "t_relay: no shared memory for the branch")
            br.pointee.flags = 0
            return false
        }
        tx.raw.pointee.branch_count = UInt32(b + 1)
        tx.raw.pointee.msg_flags = flags
        tx.set(CS_TX_RELAYED)
        _ = tx.saveState(tm.arena, ScriptState(of: self))
        // The branch's own timers take over from a suspended wait's.
        tm.disarm(tx, &tx.raw.pointee.fr)
        if socket.send(bytes, to: destination) { process.count(CS_PC_FORWARDED) }
        tm.arm(tx, &br.pointee.retr, afterMs: tm.settings.t1, kind: Int32(CS_TXT_BRANCH_RETR) | Int32(b << 8))
        tm.arm(tx, &br.pointee.fr, afterMs: Int(tx.raw.pointee.fr_timeout_ms), kind: Int32(CS_TXT_BRANCH_FR) | Int32(b << 8))
        addedBranch = true
        return true
    }

    func forwardStatelessly(host: String?, port: Int?) -> Bool {
        guard let destination = nextHop(overrideHost: host, overridePort: port) else { return false }
        do { try buildForward() } catch { return false }
        guard socket.send(process.outBuffer.bytes, to: destination) else { return false }
        process.count(CS_PC_FORWARDED)
        return true
    }

    /// A CANCEL: 200 to it; the INVITE's pending branches are cancelled downstream (their
    /// 487 comes back and goes upstream); an INVITE with nothing pending (suspended, or
    /// not relayed yet) gets 487 at once.
    func relayCancel() -> Int {
        guard let invite = lookupTransaction() else {
            sendReply(481, "Call/Transaction Does Not Exist")
            return 1
        }
        invite.lock()
        defer { invite.unlock() }
        if invite.has(CS_TX_REPLIED) || invite.has(CS_TX_CANCELED) {
            sendReply(200, "ok -- no more pending branches")
            return 1
        }
        invite.set(CS_TX_CANCELED)
        var pending = 0
        for b in 0..<Int(invite.raw.pointee.branch_count) {
            let br = invite.branch(b)
            guard br.pointee.flags & UInt16(CS_BR_FINAL) == 0 else { continue }
            pending += 1
            if br.pointee.flags & UInt16(CS_BR_PROVISIONAL) != 0 { sendCancel(invite, b) }
        }
        if pending > 0 {
            sendReply(200, "canceling")
        } else {
            sendReply(200, "ok -- no more pending branches")
            if let inviteContext = MessageContext.forTransaction(invite, process: process) {
                inviteContext.sendStatefulReply(invite, 487, "Request canceled")
                inviteContext.releaseTransactions()
            }
        }
        return 1
    }

    /// Sends a CANCEL for branch `b` (lock held).
    func sendCancel(_ tx: Tx, _ b: Int) {
        guard let tm = process.tm else { return }
        let br = tx.branch(b)
        guard br.pointee.flags & UInt16(CS_BR_CANCELED) == 0,
              let sent = try? SIPMessage.parse(Tx.load(tm.arena, br.pointee.request_off, br.pointee.request_len))
        else { return }
        var out = MessageBuffer(capacity: 512)
        guard (try? ClientRequestBuilder.cancel(for: sent, into: &out)) != nil else { return }
        br.pointee.flags |= UInt16(CS_BR_CANCELED)
        socket.send(out.bytes, to: SocketAddress(ip: br.pointee.dest_ip, port: br.pointee.dest_port))
    }
}
