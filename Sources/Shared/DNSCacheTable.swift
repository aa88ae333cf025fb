import CShared

/// The core's DNS cache in the arena (section "dnscache", cs_dnscache.h): one entry per
/// (name, type) question, with the answer's records, its expiry and, while a process
/// resolves it, a lease that tells the others not to send the same query.
///
/// A view (no ownership): the arena owns the table. Every operation takes the table's
/// lock and copies entries in or out; callers never hold a pointer into an entry.
public struct DNSCacheTable: @unchecked Sendable {
    let raw: UnsafeMutablePointer<cs_dns_cache>

    public static let section = "dnscache"
    /// The rcode of a negative entry that records no answer at all (a timeout).
    public static let rcodeTimeout = UInt16(CS_DNS_RCODE_TIMEOUT)

    /// An entry as a lookup copies it out.
    public struct Entry: Sendable {
        public enum State: Sendable, Equatable { case positive, negative(rcode: UInt16) }
        public var state: State
        public var records: [DNSCacheRecord]
        /// Monotonic milliseconds (cs_now_ms) when it expires.
        public var expiresMs: UInt64
    }

    /// What a lookup found, and whether the caller now has the job of resolving.
    public enum Lookup: Sendable {
        /// A live answer.
        case hit(Entry)
        /// An expired answer; `refresh`: the caller holds the lease and should resolve
        /// the name again (then `store` or `release`); otherwise another process does.
        case stale(Entry, refresh: Bool)
        /// No answer; `claimed`: the caller holds the lease and should resolve and `store`
        /// (or `release`); otherwise another process resolves it right now.
        case miss(claimed: Bool)
        /// No answer and no room to note that the caller resolves it.
        case full
    }

    public enum Counter { case queries, timeouts, errors }

    public var capacity: Int { Int(raw.pointee.capacity) }
    public var used: Int { Int(cs_atomic_load_u32(&raw.pointee.used)) }

    public func lookup(_ name: String, type: UInt16, now: UInt64 = MonotonicClock.nowMs, pid: Int32,
                       leaseMs: UInt32) -> Lookup {
        var out = cs_dns_entry()
        let result = Array(name.utf8).withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) {
                cs_dns_get(raw, $0.baseAddress, UInt32($0.count), type, now, pid, leaseMs, &out)
            }
        }
        switch result {
        case CS_DNS_HIT: return .hit(Self.entry(out))
        case CS_DNS_STALE_CLAIMED: return .stale(Self.entry(out), refresh: true)
        case CS_DNS_STALE_BUSY: return .stale(Self.entry(out), refresh: false)
        case CS_DNS_MISS_CLAIMED: return .miss(claimed: true)
        case CS_DNS_MISS_BUSY: return .miss(claimed: false)
        default: return .full
        }
    }

    /// Stores a positive answer (as many records as fit) that lives `ttl` seconds. False
    /// when the cache had no room or the name is too long.
    @discardableResult
    public func store(_ name: String, type: UInt16, records: [DNSCacheRecord], ttl: UInt32,
                      now: UInt64 = MonotonicClock.nowMs) -> Bool {
        let (bytes, count) = DNSCacheRecord.pack(records, limit: Int(CS_DNS_DATA_MAX))
        return put(name, type: type, state: CS_DNS_POSITIVE, ttl: ttl, rcode: 0, bytes: bytes, count: count, now: now)
    }

    /// Stores a negative answer (`rcode` 3: no such name, 0: no record of that type,
    /// CS_DNS_RCODE_TIMEOUT: no answer) that lives `ttl` seconds.
    @discardableResult
    public func storeNegative(_ name: String, type: UInt16, rcode: UInt16, ttl: UInt32,
                              now: UInt64 = MonotonicClock.nowMs) -> Bool {
        put(name, type: type, state: CS_DNS_NEGATIVE, ttl: ttl, rcode: rcode, bytes: [], count: 0, now: now)
    }

    /// Gives up the caller's lease without an answer.
    public func release(_ name: String, type: UInt16) {
        Array(name.utf8).withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { cs_dns_release(raw, $0.baseAddress, UInt32($0.count), type) }
        }
    }

    @discardableResult
    public func collectGarbage(now: UInt64 = MonotonicClock.nowMs) -> Int { Int(cs_dns_gc(raw, now)) }

    @discardableResult
    public func flush() -> Int { Int(cs_dns_flush(raw)) }

    public func count(_ counter: Counter) {
        switch counter {
        case .queries: cs_dns_count(raw, CS_DNS_COUNT_QUERIES)
        case .timeouts: cs_dns_count(raw, CS_DNS_COUNT_TIMEOUTS)
        case .errors: cs_dns_count(raw, CS_DNS_COUNT_ERRORS)
        }
    }

    private func put(_ name: String, type: UInt16, state: cs_dns_state, ttl: UInt32, rcode: UInt16, bytes: [UInt8],
                     count: Int, now: UInt64) -> Bool {
        let nameBytes = Array(name.utf8)
        return nameBytes.withUnsafeBufferPointer { n in
            n.withMemoryRebound(to: CChar.self) { n in
                bytes.withUnsafeBufferPointer { d in
                    cs_dns_put(raw, n.baseAddress, UInt32(n.count), type, now, state.rawValue, ttl, rcode,
                               d.baseAddress, UInt32(d.count), UInt32(count)) == 0
                }
            }
        }
    }

    static func entry(_ e: cs_dns_entry) -> Entry {
        let records = withUnsafeBytes(of: e.data) {
            DNSCacheRecord.unpack($0.prefix(min(Int(e.data_len), $0.count)), count: Int(e.record_count))
        }
        let state: Entry.State = e.state == CS_DNS_NEGATIVE.rawValue ? .negative(rcode: e.rcode) : .positive
        return Entry(state: state, records: records, expiresMs: e.expires_ms)
    }
}

extension ArenaRef {
    /// Creates section "dnscache" of about `bytes` (master, before fork).
    public func installDNSCache(bytes: Int, gcIntervalSeconds: Int, staleSeconds: Int,
                                deleteNonExpired: Bool) throws(ArenaError) -> DNSCacheTable {
        let capacity = cs_dns_cache_capacity_for(UInt64(max(bytes, 0)))
        let memory = try addSection(DNSCacheTable.section, size: Int(cs_dns_cache_bytes(capacity)),
                                    kind: CS_SECTION_DNSCACHE, version: CS_DNSCACHE_VERSION)
        let table = memory.assumingMemoryBound(to: cs_dns_cache.self)
        cs_dns_cache_init(table, capacity, UInt32(clamping: gcIntervalSeconds), UInt32(clamping: staleSeconds),
                          deleteNonExpired ? 1 : 0)
        return DNSCacheTable(raw: table)
    }

    /// Section "dnscache", if the server has one.
    public var dnsCache: DNSCacheTable? {
        section(DNSCacheTable.section).map { DNSCacheTable(raw: $0.assumingMemoryBound(to: cs_dns_cache.self)) }
    }
}
