import CShared

extension ArenaReport {
    /// Section "dnscache": the core's DNS cache, its statistics and its entries.
    public struct DNSCache: Codable, Sendable {
        public var capacity: UInt32
        public var used: UInt32
        public var highWater: UInt32
        public var gcIntervalMs: UInt32
        public var staleMs: UInt64
        public var deleteNonExpired: Bool
        public var lookups: UInt64
        public var hits: UInt64
        public var negativeHits: UInt64
        public var staleServed: UInt64
        public var busy: UInt64
        public var misses: UInt64
        public var stored: UInt64
        public var evictedExpired: UInt64
        public var evictedLive: UInt64
        public var full: UInt64
        public var gcRuns: UInt64
        public var gcFreed: UInt64
        public var queries: UInt64
        public var timeouts: UInt64
        public var errors: UInt64
        public var flushes: UInt64
        public var lockHolderPID: Int32
        /// Bytes the section takes per entry (fixed, whether in use or not).
        public var entryBytes: Int
        /// Entries in use, soonest to expire first (at most `ArenaInspector.maxTransactions`).
        public var entries: [DNSCacheEntry]
    }

    public struct DNSCacheEntry: Codable, Sendable {
        public var name: String
        public var type: String
        /// "positive", "negative" (NXDOMAIN or no such record), "no answer" (timed out),
        /// or "resolving" (a placeholder while a process resolves it).
        public var state: String
        /// Seconds until it expires; negative when expired (served stale while refreshed).
        public var expiresInSeconds: Double?
        public var ttl: UInt32
        public var hits: UInt32
        /// The pid resolving it now, if a lease is running.
        public var resolvingPID: Int32?
        public var records: [String]
    }
}

extension ArenaInspector {
    func readDNSCache(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.DNSCache? {
        guard let (c, capacity, entryAt) = headerAndRows(s, cs_dns_cache.self, cs_dns_entry.self,
                                                         what: "dns cache", claimed: { Int($0.capacity) }, &problems)
        else { return nil }
        let now = cs_now_ms()
        var entries: [ArenaReport.DNSCacheEntry] = []
        var inUse = 0
        for i in 0..<capacity {
            guard let e = entryAt(i), e.state != CS_DNS_FREE.rawValue else { continue }
            inUse += 1
            let state: String
            switch e.state {
            case CS_DNS_RESOLVING.rawValue: state = "resolving"
            case CS_DNS_POSITIVE.rawValue: state = "positive"
            case CS_DNS_NEGATIVE.rawValue:
                state = e.rcode == UInt16(CS_DNS_RCODE_TIMEOUT) ? "no answer" : e.rcode == 3 ? "negative (no such name)" : "negative (no records)"
            default: state = "unknown(\(e.state))"
            }
            let records = withUnsafeBytes(of: e.data) {
                DNSCacheRecord.unpack($0.prefix(min(Int(e.data_len), $0.count)), count: Int(e.record_count))
            }
            let expires: Double? = e.state == CS_DNS_RESOLVING.rawValue ? nil
                : (Double(e.expires_ms) - Double(now)) / 1000
            entries.append(.init(name: cString(e.name), type: DNSCacheRecord.typeName(e.type), state: state,
                                 expiresInSeconds: expires, ttl: e.ttl, hits: e.hits,
                                 resolvingPID: e.lease_until_ms > now ? e.lease_pid : nil,
                                 records: records.map(\.text)))
        }
        if inUse != Int(c.used) { problems.append("dns cache: \(inUse) entries in use, the cache counts \(c.used)") }
        entries.sort { ($0.expiresInSeconds ?? -.infinity) < ($1.expiresInSeconds ?? -.infinity) }
        return ArenaReport.DNSCache(
            capacity: c.capacity, used: c.used, highWater: c.high_water, gcIntervalMs: c.gc_interval_ms,
            staleMs: c.stale_ms, deleteNonExpired: c.del_nonexp != 0, lookups: c.lookups, hits: c.hits,
            negativeHits: c.negative_hits, staleServed: c.stale_served, busy: c.busy, misses: c.misses,
            stored: c.stored, evictedExpired: c.evicted_expired, evictedLive: c.evicted_live, full: c.full,
            gcRuns: c.gc_runs, gcFreed: c.gc_freed, queries: c.queries, timeouts: c.timeouts, errors: c.errors,
            flushes: c.flushes, lockHolderPID: c.lock.holder_pid, entryBytes: MemoryLayout<cs_dns_entry>.stride,
            entries: Array(entries.prefix(maxTransactions)))
    }
}
