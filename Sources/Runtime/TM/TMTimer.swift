import CShared
import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The `timer` process: fires tm's timers for every transaction of the server, from the
/// shared wheel (10 ms ticks; a tick costs what is due in it, not the number of
/// transactions).
struct TMTimerProcess {
    let process: ProcessContext
    let tm: TMState
    var exec: ExecContext

    init(process: ProcessContext, tm: TMState) {
        self.process = process
        self.tm = tm
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        var due = [UInt64](repeating: 0, count: 512)
        let tick = UInt64(TMState.wheelSpec.tickMs)
        var next = cs_now_ms()
        let bell = DoorbellRef(tm.timerBell)
        let wheel = tm.wheel
        while true {
            if wheel.armed == 0 {
                // Nothing to time: sleep until a process arms a timer (no idle ticking).
                _ = bell.wait(timeoutNanoseconds: 1_000_000_000) { wheel.armed > 0 }
                next = cs_now_ms()
                continue
            }
            next += tick
            let now = cs_now_ms()
            if next > now { usleep(UInt32((next - now) * 1000)) } else { next = now }
            while true {
                let n = tm.wheel.expire(nowMs: cs_now_ms(), into: &due)
                for i in 0..<n { fire(due[i]) }
                if n < due.count { break }
            }
        }
    }

    /// One expired link; the timer's reference to its transaction comes with it.
    mutating func fire(_ offset: UInt64) {
        let link = (tm.arena.base + Int(offset)).assumingMemoryBound(to: cs_timer_link.self)
        let kind = link.pointee.kind
        guard let raw = cs_tx_from_link(tm.arena.header, offset, kind) else { return }
        let tx = Tx(raw: raw)
        defer { tm.unref(tx) }
        tx.lock()
        defer { tx.unlock() }
        let b = Int(kind >> 8)
        switch Int32(kind & 0xff) {
        case Int32(CS_TXT_FR): finalResponseTimeout(tx)
        case Int32(CS_TXT_UAS_RETR): retransmitReply(tx)
        case Int32(CS_TXT_WAIT): tm.finish(tx)
        case Int32(CS_TXT_BRANCH_RETR): retransmitBranch(tx, b)
        case Int32(CS_TXT_BRANCH_FR): branchTimeout(tx, b)
        default: break
        }
    }

    /// A transaction waiting with no branch (suspended) ran out of time: its failure
    /// route runs with 408, or 408 goes upstream.
    mutating func finalResponseTimeout(_ tx: Tx) {
        guard !tx.has(CS_TX_REPLIED) else { return }
        tx.set(CS_TX_TIMED_OUT)
        if tx.has(CS_TX_SUSPENDED) {
            tx.clear(CS_TX_SUSPENDED)
            cs_tx_count_suspended(tm.table.raw, -1)
        }
        guard tm.pendingBranches(tx) == 0 else { return }
        tm.decideFinal(tx, process, &exec, timedOut: true)
    }

    /// Timer G: our negative final reply to an INVITE again, until its ACK.
    func retransmitReply(_ tx: Tx) {
        guard tx.has(CS_TX_REPLIED), !tx.has(CS_TX_ACKED) else { return }
        let (off, len) = tx.lastReply
        // The stored reply goes out as it is: no need to rebuild the request for it.
        process.sendUpstream(tx, Tx.load(tm.arena, off, len))
        tx.raw.pointee.uas_retransmits += 1
        let interval = min(tm.settings.t1 << min(Int(tx.raw.pointee.uas_retransmits), 16), tm.settings.t2)
        tm.arm(tx, &tx.raw.pointee.uas_retr, afterMs: interval, kind: Int32(CS_TXT_UAS_RETR))
    }

    /// Timers A and E: the branch request again, at doubling intervals (capped at T2 for
    /// non-INVITE), until a reply (a 1xx stops an INVITE's).
    func retransmitBranch(_ tx: Tx, _ b: Int) {
        let br = tx.branch(b)
        let flags = br.pointee.flags
        guard flags & UInt16(CS_BR_FINAL) == 0, !(tx.isInvite && flags & UInt16(CS_BR_PROVISIONAL) != 0) else { return }
        let bytes = Tx.load(tm.arena, br.pointee.request_off, br.pointee.request_len)
        process.defaultSocket.send(bytes, to: SocketAddress(ip: br.pointee.dest_ip, port: br.pointee.dest_port))
        br.pointee.retransmits += 1
        var interval = Int(br.pointee.retr_interval_ms) * 2
        if !tx.isInvite || flags & UInt16(CS_BR_PROVISIONAL) != 0 { interval = min(interval, tm.settings.t2) }
        br.pointee.retr_interval_ms = UInt32(interval)
        tm.arm(tx, &br.pointee.retr, afterMs: interval, kind: Int32(CS_TXT_BRANCH_RETR) | Int32(b << 8))
    }

    /// Timers B/F (fr_timer, fr_inv_timer): the branch ends with a local 408; an INVITE
    /// branch that had answered provisionally is cancelled downstream.
    mutating func branchTimeout(_ tx: Tx, _ b: Int) {
        let br = tx.branch(b)
        guard br.pointee.flags & UInt16(CS_BR_FINAL) == 0 else { return }
        tm.disarm(tx, &br.pointee.retr)
        if tx.isInvite && br.pointee.flags & UInt16(CS_BR_PROVISIONAL) != 0,
           let context = MessageContext.forTransaction(tx, process: process) {
            context.sendCancel(tx, b)
            context.releaseTransactions()
        }
        br.pointee.flags |= UInt16(CS_BR_FINAL)
        br.pointee.last_status = 408
        tx.set(CS_TX_TIMED_OUT)
        if tm.pendingBranches(tx) == 0 { tm.decideFinal(tx, process, &exec) }
    }
}
