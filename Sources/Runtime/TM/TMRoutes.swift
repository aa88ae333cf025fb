import CShared
import SIP
import Script
import Shared

extension MessageContext {
    /// A message context for a transaction's request, rebuilt from its shared copy with the
    /// script state saved with it; it holds a reference to the transaction. nil when the
    /// copy does not parse (it did when it arrived, so only a damaged arena does this).
    static func forTransaction(_ tx: Tx, process: ProcessContext) -> MessageContext? {
        guard let tm = process.tm, let request = try? SIPMessage.parse(tx.request) else { return nil }
        let index = Int(tx.raw.pointee.socket_index)
        let socket = index < process.sockets.count ? process.sockets[index] : process.defaultSocket
        let context = MessageContext(process: process, message: request, source: tx.source, socket: socket)
        cs_tx_ref(tx.raw)
        context.transaction = tx
        context.inTransactionRoute = true
        tx.withLock { tx.loadState(tm.arena)?.apply(to: context) }
        return context
    }

    /// Runs `route` as `type` for this transaction context, with the transaction's flags,
    /// then restores the caller's context. Returns the route's flow.
    @discardableResult
    func run(route: Int, as type: RouteType, _ exec: inout ExecContext) -> Flow {
        let savedHost = exec.host, savedFlags = exec.flags, savedType = exec.routeType
        defer {
            exec.host = savedHost
            exec.flags = savedFlags
            exec.routeType = savedType
        }
        exec.host = self
        if let tx = transaction { exec.flags = tx.raw.pointee.msg_flags }
        exec.routeType = type
        return process.program.run(route: route, as: type, &exec)
    }
}

extension TMState {
    /// All branches of `tx` have a final answer and none is 2xx: run the failure route if
    /// one is armed, else (or if it neither replies nor adds a branch) send the best reply
    /// upstream. Lock held by the caller. `timedOut`: a suspended wait ran out of time, and
    /// its 408 wins over what earlier branches answered (SEMANTICS.md 5).
    func decideFinal(_ tx: Tx, _ process: ProcessContext, _ exec: inout ExecContext, timedOut: Bool = false) {
        guard !tx.has(CS_TX_REPLIED) else { return }
        let best = timedOut ? nil : bestBranch(tx)
        var code = best.map { Int(tx.branch($0).pointee.last_status) } ?? 408
        if tx.has(CS_TX_CANCELED) && (best == nil || tx.branch(best!).pointee.reply_off == 0) { code = 487 }
        let failureRoute = tx.raw.pointee.on_failure
        if failureRoute >= 0 && !tx.has(CS_TX_CANCELED), let context = MessageContext.forTransaction(tx, process: process) {
            tx.raw.pointee.on_failure = -1 // armed once, as in tm: the route may arm it again
            context.failureReplyCode = code
            context.run(route: Int(failureRoute), as: .failure, &exec)
            let added = context.addedBranch
            if context.onFailure >= 0 { tx.raw.pointee.on_failure = context.onFailure }
            context.releaseTransactions()
            // Replied, a new branch, or suspended again (an async function): not ours to answer.
            if tx.has(CS_TX_REPLIED) || added || tx.has(CS_TX_SUSPENDED) { return }
        }
        relayBest(tx, best, code: code, process)
    }

    /// Sends the chosen branch reply upstream (without our Via), or a local reply when the
    /// branch has none (timeout: 408; cancelled: 487). Lock held.
    func relayBest(_ tx: Tx, _ best: Int?, code: Int, _ process: ProcessContext) {
        guard let context = MessageContext.forTransaction(tx, process: process) else { return }
        defer { context.releaseTransactions() }
        if let b = best, tx.branch(b).pointee.reply_off != 0, code == Int(tx.branch(b).pointee.last_status) {
            let br = tx.branch(b)
            let reply = Tx.load(arena, br.pointee.reply_off, br.pointee.reply_len)
            context.relayUpstream(tx, reply)
        } else {
            context.sendStatefulReply(tx, code, code == 487 ? "Request canceled" : code == 408 ? "Request Timeout" : "Server Error")
        }
    }

    /// RFC 3261 16.7: a 6xx wins; otherwise the lowest status.
    func bestBranch(_ tx: Tx) -> Int? {
        var best: Int?
        for b in 0..<Int(tx.raw.pointee.branch_count) {
            let status = Int(tx.branch(b).pointee.last_status)
            guard status >= 300 else { continue }
            guard let current = best else { best = b; continue }
            let other = Int(tx.branch(current).pointee.last_status)
            if status >= 600 && other < 600 { best = b } else if (status >= 600) == (other >= 600) && status < other { best = b }
        }
        return best
    }

    func pendingBranches(_ tx: Tx) -> Int {
        (0..<Int(tx.raw.pointee.branch_count)).filter { tx.branch($0).pointee.flags & UInt16(CS_BR_FINAL) == 0 }.count
    }
}

extension MessageContext {
    /// Relays a reply upstream: our Via removed, sent to the transaction's source; a final
    /// one becomes the transaction's reply (for retransmissions). Lock held.
    func relayUpstream(_ tx: Tx, _ reply: [UInt8]) {
        guard let tm = process.tm, let parsed = try? SIPMessage.parse(reply) else { return }
        let bytes = Self.removingTopVia(parsed)
        Tx.store(tm.arena, &tx.raw.pointee.reply_off, &tx.raw.pointee.reply_len, bytes)
        tx.raw.pointee.uas_status = UInt32(parsed.statusCode)
        sendUpstream(tx, bytes)
        if parsed.statusCode >= 200 { finalReplySent(tx) }
    }

    /// The message's bytes without its top Via value: the first element of the first Via
    /// field, or the whole field when it holds only that value.
    static func removingTopVia(_ m: SIPMessage) -> [UInt8] {
        guard let field = m.headers.first(where: { $0.kind == .via }) else { return m.bytes }
        var bytes = m.bytes
        let elements = m.listElements(field.valueRange)
        if elements.count <= 1 {
            bytes.removeSubrange(field.lineRange)
        } else {
            bytes.removeSubrange(elements[0].lowerBound..<elements[1].lowerBound)
        }
        return bytes
    }
}
