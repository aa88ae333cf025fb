import SIP
import Script
import Shared

/// What RFC 3263 resolution starts from: a host, maybe a port and a transport, and whether
/// the URI was sips: (TLS only).
struct DNSQuery: Equatable, CustomStringConvertible {
    var host: String
    var port: Int?
    var transport: SIPTransport?
    var secure: Bool

    var description: String {
        (secure ? "sips:" : "sip:") + host + (port.map { ":\($0)" } ?? "") + (transport.map { ";transport=\($0.name)" } ?? "")
    }
}

/// One name a receiver hands to a DNS Worker, in a "dns" task's payload: the query and the
/// transaction suspended until it is resolved.
struct DNSRequest: Equatable {
    var transaction: TransactionID
    var query: DNSQuery

    func encoded() -> [UInt8] {
        var w = PayloadWriter()
        w.u64(UInt64(transaction.index) << 32 | UInt64(transaction.label))
        w.string(query.host)
        w.u64(query.port.map { UInt64(UInt16(clamping: $0)) + 1 } ?? 0)
        w.u64(query.transport.map { Self.code($0) } ?? 0)
        w.u64(query.secure ? 1 : 0)
        return w.bytes
    }

    init(transaction: TransactionID, query: DNSQuery) {
        self.transaction = transaction
        self.query = query
    }

    /// nil when the payload is not one `encoded()` wrote.
    init?(decoding bytes: [UInt8]) {
        var r = PayloadReader(bytes: bytes)
        guard let tx = r.u64(), let host = r.string(), let port = r.u64(), port <= 65536, let transport = r.u64(),
              let secure = r.u64(), r.atEnd else { return nil }
        transaction = TransactionID(index: UInt32(truncatingIfNeeded: tx >> 32), label: UInt32(truncatingIfNeeded: tx))
        let t: SIPTransport?
        switch transport {
        case 0: t = nil
        case 1: t = .udp
        case 2: t = .tcp
        case 3: t = .tls
        default: return nil
        }
        query = DNSQuery(host: host, port: port == 0 ? nil : Int(port - 1), transport: t, secure: secure != 0)
    }

    static func code(_ t: SIPTransport) -> UInt64 {
        switch t {
        case .udp: return 1
        case .tcp: return 2
        case .tls: return 3
        }
    }
}

/// A receiver's way to the DNS Workers: their queue ("dns"). Present only in receivers of
/// a server that has DNS Workers (`dns_workers` > 0, tm loaded, the DNS cache in use);
/// every other process resolves inline.
struct DNSDeferral {
    static let queueName = "dns"

    let queue: TaskQueueRef
    let arena: ArenaRef
}

extension MessageContext {
    /// In a receiver: when `query` cannot be answered from the DNS cache now, suspends the
    /// request's transaction at the action being run and queues the query for a DNS
    /// Worker, which resolves it and resumes the transaction at that action (t_relay runs
    /// again there, the cache warm). Returns the script code (0: suspended, or a
    /// retransmission absorbed), or nil when the relay should go on here inline: the cache
    /// answers, or the query could not be queued (logged).
    func deferResolution(_ query: DNSQuery, _ exec: inout ExecContext) -> Int? {
        guard let deferral = process.dnsDeferral, exec.routeType == .request, !tm.inTransactionRoute,
              !process.dns.isAnsweredNow(host: query.host, port: query.port, transport: query.transport, secure: query.secure)
        else { return nil }
        let here = exec.position
        switch suspend(flags: exec.flags, target: .action(block: here.block, action: here.action), wait: .none) {
        case .absorbed: return 0
        case .failed:
            process.log.warning("dns", "cannot suspend \(message.callID) while \(query) is resolved; resolving it here")
            return nil
        case .suspended(let tx):
            let request = DNSRequest(transaction: tx.id, query: query)
            let why: String
            // t_relay runs again on what the script set until now, as it would have here:
            // also the R-URI and $du set after an explicit t_newtran(), which an async
            // function's resume does not see (tm's shared copy is older).
            guard tx.withLock({ $0.store(edits.encoded(), in: .scriptState) }) else {
                tx.withLock { $0.cancelSuspension() }
                process.log.warning("dns", "no shared memory to suspend \(message.callID); resolving \(query) here")
                return nil
            }
            switch deferral.queue.push(.dns(payload: request.encoded()), arena: deferral.arena, nonblocking: true) {
            case .queued:
                process.log.debug("dns", "\(message.callID): \(query) is not in the DNS cache; transaction \(tx.id) waits for a DNS Worker")
                return 0
            case .full: why = "the DNS Workers' queue is full"
            case .noMemory: why = "no shared memory for the query"
            }
            tx.withLock { $0.cancelSuspension() }
            process.log.warning("dns", "\(why); resolving \(query) here")
            return nil
        }
    }
}
