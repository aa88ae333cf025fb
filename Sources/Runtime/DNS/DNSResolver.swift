import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One place to send a SIP request: a transport and an address, and the SRV record it
/// came from (nil when it came from A/AAAA alone or was a literal address).
public struct SIPTarget: Sendable, Hashable, CustomStringConvertible {
    public typealias Transport = SIPTransport

    public var transport: Transport
    public var address: SocketAddress
    /// `_sip._udp.example.com`, when the target came from an SRV record.
    public var srvName: String?
    /// The SRV record's target host, or the name that was resolved.
    public var host: String

    public var description: String {
        "\(transport.name):\(address)" + (srvName.map { " (SRV \($0) -> \(host))" } ?? "")
    }
}

/// The resolver of one process: looks records up in the arena's DNS cache, and asks the
/// name servers (through `DNSClient`) for what the cache does not have, under the cache's
/// lease so that other processes do not ask the same thing meanwhile.
///
/// Owned by one process (made lazily after fork, kept in its `ProcessContext`); not
/// shared. See docs/dns.md for why a lookup never waits for another process's query and
/// how long one can wait for its own.
public final class DNSResolver {
    let settings: DNSSettings
    let cache: DNSCacheTable?
    let client: DNSClient
    let pid: Int32
    /// Address families the server can send to (those of its listen sockets).
    let families: Set<SocketAddress.Family>
    /// What a lookup does with a name the cache cannot answer now.
    var mode = Mode.inline
    /// Set by a `.probe` lookup that would have had to ask the name servers or wait.
    private(set) var probeMissed = false

    /// What a lookup does when the cache cannot answer now (docs/dns.md).
    enum Mode {
        /// Asks the name servers itself when it misses; gives "no answer now" when another
        /// process is resolving the name (every process but a DNS Worker, and receivers
        /// without DNS Workers).
        case inline
        /// Never asks and never waits: a name the cache cannot answer now ends the
        /// resolution and sets `probeMissed` (a receiver deciding whether to hand the name
        /// to a DNS Worker).
        case probe
        /// Asks like `.inline`, and waits (polling, within the budget) for another
        /// process's lease to end instead of giving up (a DNS Worker: it may block).
        case waitForOthers
    }

    /// What a lookup of one (name, type) gave.
    enum Answer: Equatable {
        case records([DNSCacheRecord])
        /// The name or the type does not exist.
        case none
        /// No answer now: the name servers did not answer in time, or another process is
        /// resolving the name and this one does not wait for it.
        case unavailable
    }

    init(settings: DNSSettings, cache: DNSCacheTable?, client: DNSClient, pid: Int32,
         families: Set<SocketAddress.Family>) {
        self.settings = settings
        self.cache = settings.cached ? cache : nil
        self.client = client
        self.pid = pid
        self.families = families
        client.counter = self.cache.map { c in { c.count($0) } }
    }

    /// A resolver reading the resolv.conf of `ResolverConfig.path`.
    public convenience init(settings: DNSSettings, cache: DNSCacheTable?, pid: Int32,
                            families: Set<SocketAddress.Family>) {
        let client = DNSClient(config: ResolverConfig.load(), timeoutSeconds: settings.retransmitSeconds,
                               tries: settings.retries)
        self.init(settings: settings, cache: cache, client: client, pid: pid, families: families)
    }

    /// How long one resolution (a whole NAPTR, SRV, A/AAAA chain) may wait for name
    /// servers: `dns_retr_time` x `dns_retr_no`, at least 100 ms.
    var budgetMs: UInt64 { max(client.timeoutMs * UInt64(client.tries), 100) }


    // MARK: - One question

    /// The records of (name, type), from the per-resolution scratch, the cache or the
    /// name servers; follows CNAMEs (at most 8).
    func lookup(_ name: String, type: UInt16, deadlineMs: UInt64, scratch: inout [Key: [DNSCacheRecord]],
                depth: Int = 0) -> Answer {
        let name = Self.normalized(name)
        guard !name.isEmpty, depth < 8 else { return .none }
        if let known = scratch[Key(name: name, type: type)] { return known.isEmpty ? .none : .records(known) }
        guard let cache else {
            return ask(name, type: type, deadlineMs: deadlineMs, scratch: &scratch, depth: depth, store: nil)
        }
        let leaseMs = UInt32(clamping: max(Int64(deadlineMs) - Int64(MonotonicClock.nowMs), 100))
        var found = cache.lookup(name, type: type, pid: pid, leaseMs: leaseMs)
        if mode == .waitForOthers {
            while case .miss(claimed: false) = found, MonotonicClock.nowMs < deadlineMs {
                usleep(Self.leasePollMicroseconds)
                found = cache.lookup(name, type: type, pid: pid, leaseMs: leaseMs)
            }
        }
        if mode == .probe {
            switch found {
            case .hit, .stale(_, refresh: false): break
            case .stale(_, refresh: true), .miss(claimed: true):
                // The lease just taken goes back at once: the DNS Worker takes it.
                cache.release(name, type: type)
                probeMissed = true
                return .unavailable
            case .miss(claimed: false), .full:
                probeMissed = true
                return .unavailable
            }
        }
        switch found {
        case .hit(let e), .stale(let e, refresh: false):
            return Self.answer(e)
        case .stale(let e, refresh: true):
            let fresh = ask(name, type: type, deadlineMs: deadlineMs, scratch: &scratch, depth: depth, store: cache)
            if fresh != .unavailable { return fresh }
            // The name servers are silent: keep the old answer a while longer rather than
            // have every request try them again.
            if case .positive = e.state, settings.negativeTTL > 0 {
                cache.store(name, type: type, records: e.records, ttl: UInt32(settings.negativeTTL))
            } else {
                cache.release(name, type: type)
            }
            return Self.answer(e)
        case .miss(claimed: true):
            return ask(name, type: type, deadlineMs: deadlineMs, scratch: &scratch, depth: depth, store: cache)
        case .miss(claimed: false):
            return .unavailable
        case .full:
            return ask(name, type: type, deadlineMs: deadlineMs, scratch: &scratch, depth: depth, store: nil)
        }
    }

    /// How often a DNS Worker looks again at a name another process is resolving.
    static let leasePollMicroseconds: UInt32 = 10_000

    /// Whether the targets of (host, port, transport) can be had from the cache now,
    /// without asking a name server or waiting for another process (a literal address
    /// always can; a cached "no such name" or "no answer" can too: it fails at once).
    /// Expired entries another process is refreshing count as answered; one this
    /// process would have to refresh does not.
    public func isAnsweredNow(host: String, port: Int?, transport: SIPTarget.Transport?, secure: Bool) -> Bool {
        guard cache != nil else { return false }
        let saved = mode
        mode = .probe
        probeMissed = false
        defer { mode = saved }
        _ = targets(host: host, port: port, transport: transport, secure: secure)
        return !probeMissed
    }

    struct Key: Hashable {
        var name: String
        var type: UInt16
    }

    /// Queries the name servers, stores what came back (the answer, and related records of
    /// the additional section) in `store` and in `scratch`, and ends the lease.
    private func ask(_ name: String, type: UInt16, deadlineMs: UInt64, scratch: inout [Key: [DNSCacheRecord]],
                     depth: Int, store: DNSCacheTable?) -> Answer {
        switch client.query(name, type: type, deadlineMs: deadlineMs) {
        case .notAsked:
            store?.release(name, type: type)
            return .unavailable
        case .noAnswer(let timedOut):
            if let store {
                if timedOut, settings.negativeTTL > 0 {
                    store.storeNegative(name, type: type, rcode: DNSCacheTable.rcodeTimeout, ttl: UInt32(settings.negativeTTL))
                } else {
                    store.release(name, type: type)
                }
            }
            return .unavailable
        case .answer(let m):
            let (records, cname) = Self.follow(m.answers, name: name, type: type)
            keepAdditional(m, scratch: &scratch, store: store)
            if records.isEmpty, let cname {
                let target = lookup(cname, type: type, deadlineMs: deadlineMs, scratch: &scratch, depth: depth + 1)
                if case .records(let r) = target {
                    store?.store(name, type: type, records: r, ttl: settings.clampTTL(r.map(\.ttl).min() ?? 0))
                } else {
                    store?.release(name, type: type)
                }
                return target
            }
            scratch[Key(name: name, type: type)] = records
            if records.isEmpty {
                if settings.negativeTTL > 0 {
                    store?.storeNegative(name, type: type, rcode: UInt16(m.rcode), ttl: UInt32(settings.negativeTTL))
                } else {
                    store?.release(name, type: type)
                }
                return .none
            }
            store?.store(name, type: type, records: records, ttl: settings.clampTTL(records.map(\.ttl).min() ?? 0))
            return .records(records)
        }
    }

    /// The records of `type` owned by `name` or by the end of its CNAME chain in `answers`;
    /// the chain's last name when the records are not there.
    static func follow(_ answers: [DNSMessage.Record], name: String, type: UInt16) -> ([DNSCacheRecord], String?) {
        var owner = name.lowercased()
        var seen: Set<String> = []
        while true {
            let found = answers.filter { $0.type == type && normalized($0.name) == owner }.compactMap(\.cacheRecord)
            if !found.isEmpty { return (found, nil) }
            guard !seen.contains(owner),
                  let c = answers.first(where: { $0.type == DNSCacheRecord.typeCNAME && normalized($0.name) == owner }),
                  case .cname(let target)? = c.data else { return ([], owner == name.lowercased() ? nil : owner) }
            seen.insert(owner)
            owner = normalized(target)
        }
    }

    /// SRV and A/AAAA records of the additional section (what a server adds for the
    /// targets of an SRV or NAPTR answer): into the scratch and the cache, so that they cost
    /// no further query.
    private func keepAdditional(_ m: DNSMessage, scratch: inout [Key: [DNSCacheRecord]], store: DNSCacheTable?) {
        var groups: [Key: [DNSCacheRecord]] = [:]
        for r in m.additional where [DNSCacheRecord.typeA, DNSCacheRecord.typeAAAA, DNSCacheRecord.typeSRV].contains(r.type) {
            guard let record = r.cacheRecord else { continue }
            groups[Key(name: Self.normalized(r.name), type: r.type), default: []].append(record)
        }
        for (key, records) in groups where scratch[key] == nil {
            scratch[key] = records
            store?.store(key.name, type: key.type, records: records, ttl: settings.clampTTL(records.map(\.ttl).min() ?? 0))
        }
    }

    static func answer(_ e: DNSCacheTable.Entry) -> Answer {
        switch e.state {
        case .positive: return e.records.isEmpty ? .none : .records(e.records)
        case .negative(let rcode): return rcode == DNSCacheTable.rcodeTimeout ? .unavailable : .none
        }
    }

    /// Lower case, without a final dot.
    static func normalized(_ name: String) -> String {
        var n = name.lowercased()
        while n.hasSuffix(".") { n.removeLast() }
        return n
    }
}
