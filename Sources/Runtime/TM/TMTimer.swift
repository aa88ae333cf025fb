import SIP
import Script
import Shared

/// The `timer` process: fires tm's timers for every transaction of the server, from the
/// shared wheel (10 ms ticks; a tick costs what is due in it, not the number of
/// transactions).
struct TMTimerProcess {
    let process: ProcessContext
    let manager: TransactionManager
    var exec: ExecContext

    init(process: ProcessContext, manager: TransactionManager) {
        self.process = process
        self.manager = manager
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        manager.table.serveTimers(of: .tm) { tx, timer in
            tx.withLock { locked in
                switch timer {
                case .finalResponse: finalResponseTimeout(locked)
                case .replyRetransmission: retransmitReply(locked)
                case .wait: manager.finish(locked, process)
                case .branchRetransmission(let b): retransmitBranch(locked, b)
                case .branchTimeout(let b): branchTimeout(locked, b)
                case .asyncWait: break // armed in the async wheels, never in tm's
                }
            }
        }
    }

    /// A transaction waiting with no branch (suspended) ran out of time: its failure
    /// route runs with 408, or 408 goes upstream.
    mutating func finalResponseTimeout(_ tx: borrowing LockedTransaction) {
        guard !tx.contains(.replied) else { return }
        tx.endSuspension()
        if tx.contains(.orphaned) {
            // The process working on it died (TransactionTable.settleHolds): nobody else
            // will answer it.
            guard let context = MessageContext.forTransaction(tx.transaction, process: process) else {
                process.log.error("tm", "transaction \(tx.id): the process handling it died and its request cannot be answered; removing it")
                manager.scheduleDeletion(tx, afterMs: 0)
                return
            }
            process.log.error("tm", "transaction \(tx.id): the process handling it died; answering 500")
            context.sendStatefulReply(tx.transaction, 500, "Server Internal Error")
            context.releaseTransactions()
            return
        }
        tx.insert(.timedOut)
        guard tx.pendingBranches == 0 else { return }
        manager.decideFinal(tx, process, &exec, timedOut: true)
    }

    /// Timer G: our negative final reply to an INVITE again, until its ACK.
    func retransmitReply(_ tx: borrowing LockedTransaction) {
        guard tx.contains(.replied), !tx.contains(.acked) else { return }
        // The stored reply goes out as it is: no need to rebuild the request for it.
        process.sendUpstream(tx.transaction, tx.bytes(.reply))
        tx.uasRetransmits += 1
        let settings = manager.settings
        let interval = min(settings.t1 << min(tx.uasRetransmits, 16), settings.t2)
        tx.arm(.replyRetransmission, afterMs: interval)
    }

    /// Timers A and E: the branch request again, at doubling intervals (capped at T2 for
    /// non-INVITE), until a reply (a 1xx stops an INVITE's).
    func retransmitBranch(_ tx: borrowing LockedTransaction, _ b: Int) {
        let branch = tx.branch(b)
        let flags = branch.flags
        guard !flags.contains(.final), !(tx.isInvite && flags.contains(.provisional)) else { return }
        if let destination = branch.destination { process.send(tx.bytes(.branchRequest(b)), to: destination) }
        branch.retransmits += 1
        var interval = branch.retransmitIntervalMs * 2
        if !tx.isInvite || flags.contains(.provisional) { interval = min(interval, manager.settings.t2) }
        branch.retransmitIntervalMs = interval
        tx.arm(.branchRetransmission(b), afterMs: interval)
    }

    /// Timers B/F (fr_timer, fr_inv_timer): the branch ends with a local 408; an INVITE
    /// branch that had answered provisionally is cancelled downstream.
    mutating func branchTimeout(_ tx: borrowing LockedTransaction, _ b: Int) {
        let branch = tx.branch(b)
        guard !branch.flags.contains(.final) else { return }
        tx.disarm(.branchRetransmission(b))
        if tx.isInvite && branch.flags.contains(.provisional),
           let context = MessageContext.forTransaction(tx.transaction, process: process) {
            context.sendCancel(tx, b)
            context.releaseTransactions()
        }
        branch.flags.insert(.final)
        branch.lastStatus = 408
        manager.branchFailed(tx, b, code: 408, timedOut: true, process, &exec)
        if tx.pendingBranches == 0 && MessageContext.failOver(tx, status: 408, process: process, &exec) { return }
        tx.insert(.timedOut)
        if tx.pendingBranches == 0 { manager.decideFinal(tx, process, &exec) }
    }
}
