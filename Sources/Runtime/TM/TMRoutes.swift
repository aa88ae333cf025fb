import SIP
import Script
import Shared

extension MessageContext {
    /// A message context for a transaction's request, rebuilt from its shared copy with the
    /// script edits saved with it; it holds a reference to the transaction. nil when the
    /// copy does not parse (it did when it arrived, so only a damaged arena does this).
    static func forTransaction(_ tx: Transaction, process: ProcessContext) -> MessageContext? {
        guard let request = try? SIPMessage.parse(tx.request) else { return nil }
        guard let source = tx.source else { return nil }
        let context = MessageContext(process: process, message: request, peer: source)
        context.tm.reference = tx.retain()
        context.tm.inTransactionRoute = true
        if let stored = tx.withLock({ $0.withBytes(.scriptState, ScriptEdits.init(decoding:)) }) { context.edits = stored }
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
        if let tx = transaction { exec.flags = tx.withLock { $0.messageFlags } }
        exec.routeType = type
        return process.program.run(route: route, as: type, &exec)
    }
}

extension TransactionManager {
    /// All branches of `tx` have a final answer and none is 2xx: run the failure route if
    /// one is armed, else (or if it neither replies nor adds a branch) send the best reply
    /// upstream. `timedOut`: a suspended wait ran out of time, and its 408 wins over what
    /// earlier branches answered (docs/async.md#while-suspended).
    func decideFinal(_ tx: borrowing LockedTransaction, _ process: ProcessContext, _ exec: inout ExecContext,
                     timedOut: Bool = false) {
        guard !tx.contains(.replied) else { return }
        let best = timedOut ? nil : bestBranch(tx)
        var code = best.map { tx.branch($0).lastStatus } ?? 408
        if tx.contains(.canceled) && (best == nil || !tx.branch(best!).hasReply) { code = 487 }
        if let failureRoute = tx.failureRoute, !tx.contains(.canceled),
           let context = MessageContext.forTransaction(tx.transaction, process: process) {
            tx.failureRoute = nil // armed once, as in tm: the route may arm it again
            context.tm.failureReplyCode = code
            context.tm.failureReplyReason = failureReason(tx, best, code: code)
            // $T_branch_idx in a failure route: the number of branches so far (the index a
            // new branch would take), as Kamailio 5.6.3 gives it.
            context.tm.branchIndex = tx.branchCount
            context.run(route: failureRoute, as: .failure, &exec)
            let added = context.tm.addedBranch
            if let again = context.tm.onFailure { tx.failureRoute = again }
            context.releaseTransactions()
            // Replied, a new branch, or suspended again (an async function): not ours to answer.
            if tx.contains([.replied, .suspended]) || added { return }
        }
        relayBest(tx, best, code: code, process)
    }

    /// Sends the chosen branch reply upstream (without our Via), or a local reply when the
    /// branch has none (timeout: 408; cancelled: 487).
    func relayBest(_ tx: borrowing LockedTransaction, _ best: Int?, code: Int, _ process: ProcessContext) {
        guard let context = MessageContext.forTransaction(tx.transaction, process: process) else { return }
        defer { context.releaseTransactions() }
        if let b = best, tx.branch(b).hasReply, code == tx.branch(b).lastStatus {
            context.relayUpstream(tx, tx.bytes(.branchReply(b)))
        } else {
            context.sendStatefulReply(tx.transaction, code, localReason(code))
        }
    }

    /// The reason tm gives a final reply it makes itself.
    func localReason(_ code: Int) -> String {
        code == 487 ? "Request canceled" : code == 408 ? "Request Timeout" : code == 503 ? "Service Unavailable" : "Server Error"
    }

    /// The reason phrase of the reply that decided a failure: the winning branch's, or
    /// tm's own for a reply it makes (`$T_reply_reason` in the failure route).
    func failureReason(_ tx: borrowing LockedTransaction, _ best: Int?, code: Int) -> String {
        if let b = best, tx.branch(b).hasReply, code == tx.branch(b).lastStatus,
           let reply = try? SIPMessage.parse(tx.bytes(.branchReply(b))) {
            return reply.reasonPhrase
        }
        return localReason(code)
    }

    /// RFC 3261 16.7: a 6xx wins; otherwise the lowest status.
    func bestBranch(_ tx: borrowing LockedTransaction) -> Int? {
        var best: Int?
        for b in 0..<tx.branchCount {
            let status = tx.branch(b).lastStatus
            guard status >= 300 else { continue }
            guard let current = best else { best = b; continue }
            let other = tx.branch(current).lastStatus
            if status >= 600 && other < 600 { best = b } else if (status >= 600) == (other >= 600) && status < other { best = b }
        }
        return best
    }
}

extension MessageContext {
    /// Relays a reply upstream: our Via removed, sent to the transaction's source; a final
    /// one becomes the transaction's reply (for retransmissions).
    func relayUpstream(_ tx: borrowing LockedTransaction, _ reply: [UInt8]) {
        guard let parsed = try? SIPMessage.parse(reply) else { return }
        let bytes = Self.removingTopVia(parsed)
        tx.store(bytes, in: .reply)
        tx.uasStatus = parsed.statusCode
        if process.sendUpstream(tx.transaction, bytes) { process.stats.count(.rplSent) }
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
