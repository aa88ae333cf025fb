import SIP
import Script
import Shared

/// The client side: `t_relay` branches, their retransmissions, CANCEL.
extension MessageContext {
    /// `t_relay([host, port])`. Returns the script code.
    func relay(host: String?, port: Int?, transport: SIPTransport? = nil, _ exec: inout ExecContext) -> Int {
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
            return forwardStatelessly(host: host, port: port, transport: transport) ? 1 : -1
        case .cancel:
            return relayCancel()
        default:
            break
        }
        // A receiver does not wait for name servers: a DNS Worker resolves, then runs this
        // action again with the cache warm.
        if process.dnsDeferral != nil, let query = destinationQuery(overrideHost: host, overridePort: port, transport: transport),
           let code = deferResolution(query, &exec) {
            return code
        }
        tm.flagsForTransaction = flags
        guard let (tx, origin) = findOrCreateTransaction() else { return -1 }
        switch origin {
        case .retransmission:
            absorbRetransmission(tx)
            return 0
        case .created: sendAutoTrying(tx)
        case .ours: break
        }
        tm.unreachedDestination = nil
        let sent = edits.branches.isEmpty ? addBranch(tx, host: host, port: port, transport: transport, &exec)
            : addBranches(tx, host: host, port: port, transport: transport, &exec)
        if !sent, let error = tm.unreachedDestination { record(error, exec) }
        if sent { tm.unreachedDestination = nil }
        return sent ? 1 : -1
    }

    /// After the route: the transaction's relay found no way to its destination, no
    /// branch went out and the script sent no stateful reply: tm answers itself with the
    /// error, as Kamailio 5.6.3 does once the script is done (478 for no address, 500 for
    /// no socket), also after a stateless reply of the script. True when it did.
    @discardableResult
    func answerRelayError(_ tx: Transaction) -> Bool {
        guard let error = tm.unreachedDestination else { return false }
        let unanswered = tx.withLock { $0.branchCount == 0 && !$0.contains([.replied, .canceled, .suspended]) }
        return unanswered && sendStatefulReply(tx, error.code, error.reason(by: "TM"))
    }

    /// Forks to the Request-URI and every `append_branch` target, each branch starting
    /// from the same edits (a branch route's changes stay with its branch), then empties
    /// the destination set as Kamailio does. True when one branch at least went out.
    /// The transaction stays locked until every branch is out: a final reply to the first
    /// one, handled by another receiver meanwhile, would otherwise find no branch pending
    /// and end the transaction before the others exist.
    func addBranches(_ tx: Transaction, host: String?, port: Int?, transport: SIPTransport?, _ exec: inout ExecContext) -> Bool {
        var base = edits
        let targets = [ScriptEdits.Branch(uri: requestURI, destinationURI: edits.destinationURI, q: nil)] + edits.branches
        base.branches = []
        return tx.withLock { locked in
            var sent = false
            for target in targets {
                edits = base
                edits.requestURI = target.uri == message.requestURIString ? base.requestURI : target.uri
                edits.destinationURI = target.destinationURI
                if addBranch(tx, host: host, port: port, transport: transport, &exec) { sent = true }
            }
            edits = base
            _ = locked.store(edits.encoded(), in: .scriptState)
            return sent
        }
    }

    /// Sends the request on a new branch of `tx` and starts its timers; `t_on_branch`'s
    /// route runs first and may `drop` the branch.
    func addBranch(_ tx: Transaction, host: String?, port: Int?, transport: SIPTransport? = nil,
                   to chosen: SIPPeer? = nil, _ exec: inout ExecContext) -> Bool {
        let flags = exec.flags
        guard let manager = process.tm else { return false }
        return tx.withLock { locked in
            if locked.contains([.replied, .canceled]) { return false }
            let b = locked.branchCount
            guard b < LockedTransaction.maxBranches else {
                process.log.error("tm", "t_relay: no more than \(LockedTransaction.maxBranches) branches per transaction")
                return false
            }
            let savedIndex = tm.branchIndex // a branch failure route's own, around its t_relay
            tm.branchIndex = b
            defer { tm.branchIndex = savedIndex }
            if let branchRoute = locked.branchRoute, case .drop = run(route: branchRoute, as: .branch, &exec) {
                process.log.info("tm", "branch_route dropped the branch of \(message.callID)")
                return false
            }
            guard let destination = chosen ?? nextHop(overrideHost: host, overridePort: port, transport: transport) else {
                process.log.error("tm", "t_relay: cannot resolve \(edits.destinationURI ?? requestURI)")
                tm.unreachedDestination = noNextHopError(overrideHost: host, overridePort: port, transport: transport)
                return false
            }
            guard forwardMayConnect(destination) else { return false }
            do throws(SIPBuildError) {
                try buildForward(branch: TransactionManager.branchID(tx.id, b), to: destination)
            } catch {
                if error == .maxForwardsExhausted { sendStatefulReply(tx, 483, "Too Many Hops") }
                process.log.error("tm", "t_relay: \(error)")
                return false
            }
            let bytes = process.outBuffer.bytes
            guard locked.addBranch(to: destination, request: bytes,
                                   retransmitIntervalMs: manager.settings.t1) != nil else {
                process.log.error("tm", "t_relay: no shared memory for the branch")
                return false
            }
            locked.messageFlags = flags
            locked.insert(.relayed)
            locked.store(edits.encoded(), in: .scriptState)
            // The branch's own timers take over from a suspended wait's.
            locked.disarm(.finalResponse)
            if process.send(bytes, to: destination) { process.count(.forwarded) }
            // Over a connection the transport retransmits, not tm (RFC 3261 §17.1.1.2).
            if !destination.transport.isReliable {
                locked.arm(.branchRetransmission(b), afterMs: manager.settings.t1)
            }
            locked.arm(.branchTimeout(b), afterMs: locked.finalResponseTimeoutMs)
            tm.addedBranch = true
            return true
        }
    }

    /// DNS failover (`use_dns_failover`): after a branch failed with 503 or timed out, a
    /// new branch to the first target of the same destination that no branch of the
    /// transaction has tried (the destination resolved again: the DNS cache answers).
    /// True when one went out; then the transaction is not finished.
    static func failOver(_ tx: borrowing LockedTransaction, status: Int, process: ProcessContext, _ exec: inout ExecContext) -> Bool {
        guard process.settings.dns.useFailover, status == 503 || status == 408,
              !tx.contains([.replied, .canceled]), tx.branchCount < LockedTransaction.maxBranches,
              let request = MessageContext.forTransaction(tx.transaction, process: process) else { return false }
        defer { request.releaseTransactions() }
        let tried = Set((0..<tx.branchCount).compactMap { tx.branch($0).destination.map { "\($0.transport.name):\($0.address)" } })
        guard let next = request.nextHops().first(where: { !tried.contains("\($0.transport.name):\($0.address)") }) else { return false }
        process.log.info("tm", "DNS failover for \(request.message.callID): \(status) on the last branch; trying \(next)")
        return request.addBranch(tx.transaction, host: nil, port: nil, to: next, &exec)
    }

    /// A relayed request the transport could not send (its connection never opened): its
    /// branch ends as if it got a 503 (RFC 3261 §16.9), and the transaction goes on as
    /// after any failed branch: its branch failure route, DNS failover, failure_route, or
    /// the best reply upstream.
    static func branchNotSent(_ bytes: [UInt8], to peer: SIPPeer, process: ProcessContext, _ exec: inout ExecContext) {
        guard let manager = process.tm, let sent = try? SIPMessage.parse(bytes), sent.isRequest,
              let id = TransactionManager.parseBranchID(sent.topVia.branch ?? ""),
              let found = manager.table.lookup(id.id) else { return }
        let tx = found.transaction
        tx.withLock { locked in
            let b = id.branch
            guard b < locked.branchCount, !locked.branch(b).flags.contains(.final), sent.method != .ack else { return }
            process.log.notice("tm", "\(sent.method.name) for \(sent.callID) could not be sent to \(peer); its branch ends as 503")
            let branch = locked.branch(b)
            locked.disarm(.branchRetransmission(b))
            locked.disarm(.branchTimeout(b))
            branch.flags.insert(.final)
            branch.lastStatus = 503
            manager.branchFailed(locked, b, code: 503, timedOut: false, process, &exec)
            if locked.pendingBranches == 0 && !failOver(locked, status: 503, process: process, &exec) {
                manager.decideFinal(locked, process, &exec)
            }
        }
        _ = consume found  // the reference kept the transaction alive until here
    }

    func forwardStatelessly(host: String?, port: Int?, transport: SIPTransport? = nil) -> Bool {
        guard let destination = nextHop(overrideHost: host, overridePort: port, transport: transport) else { return false }
        do { try buildForward(to: destination) } catch { return false }
        guard process.send(process.outBuffer.bytes, to: destination) else { return false }
        process.count(.forwarded)
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
        invite.withLock { locked in
            if locked.contains([.replied, .canceled]) {
                sendReply(200, "ok -- no more pending branches")
                return
            }
            locked.insert(.canceled)
            var pending = 0
            for b in 0..<locked.branchCount {
                let flags = locked.branch(b).flags
                guard !flags.contains(.final) else { continue }
                pending += 1
                if flags.contains(.provisional) { sendCancel(locked, b) }
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
        }
        return 1
    }

    /// Sends a CANCEL for branch `b`.
    func sendCancel(_ tx: borrowing LockedTransaction, _ b: Int) {
        let branch = tx.branch(b)
        guard !branch.flags.contains(.canceled), let sent = try? SIPMessage.parse(tx.bytes(.branchRequest(b))) else { return }
        var out = MessageBuffer(capacity: 512)
        guard (try? ClientRequestBuilder.cancel(for: sent, into: &out)) != nil else { return }
        branch.flags.insert(.canceled)
        if let destination = branch.destination { process.send(out.bytes, to: destination) }
    }
}
