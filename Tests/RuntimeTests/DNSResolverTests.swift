import Foundation
import Shared
import TestSupport
import Testing
@testable import Runtime

/// The DNS cache in an arena (TTLs, negative entries, leases, stale answers, eviction) and
/// the RFC 3263 resolver against the loopback responder of Tests/Helpers/dns_test_server.py.
@Suite(.serialized) struct DNSResolverTests {
    static func withCache(kilobytes: Int = 64, deleteNonExpired: Bool = false, _ body: (DNSCacheTable) throws -> Void) throws {
        let arena = try Arena.create(name: "/respite-test-\(getpid())-dns-\(UInt32.random(in: 0...UInt32.max))", size: 4 << 20)
        defer { try? arena.unlink() }
        try body(try arena.ref.installDNSCache(bytes: kilobytes << 10, gcIntervalSeconds: 120, staleSeconds: 30,
                                               deleteNonExpired: deleteNonExpired))
    }

    static let a = DNSCacheRecord(type: 1, ttl: 60, data: .address([127, 0, 0, 5]))

    // MARK: - The cache

    @Test func entriesExpireWithTheirTTLThenServeStaleWhileOneRefreshes() throws {
        try Self.withCache { c in
            #expect(c.lookup("host.test", type: 1, now: 1000, pid: 1, leaseMs: 500).isMiss(claimed: true))
            // While pid 1 resolves, pid 2 is told so at once.
            #expect(c.lookup("HOST.test", type: 1, now: 1100, pid: 2, leaseMs: 500).isMiss(claimed: false))
            #expect(c.store("host.test", type: 1, records: [Self.a], ttl: 10, now: 1200))
            #expect(c.lookup("host.test", type: 1, now: 11_199, pid: 2, leaseMs: 500).records == [Self.a])
            // Expired: the first to look refreshes, the next gets the old answer and does not wait.
            guard case .stale(let e, refresh: true) = c.lookup("host.test", type: 1, now: 11_200, pid: 2, leaseMs: 500) else {
                Issue.record("expected a stale answer to refresh"); return
            }
            #expect(e.records == [Self.a])
            guard case .stale(_, refresh: false) = c.lookup("host.test", type: 1, now: 11_300, pid: 3, leaseMs: 500) else {
                Issue.record("expected a stale answer without the lease"); return
            }
            // Far past expiry (30 s of staleness allowed): a miss again.
            #expect(c.lookup("host.test", type: 1, now: 50_000, pid: 3, leaseMs: 500).isMiss(claimed: true))
            // Types are separate entries.
            #expect(c.lookup("host.test", type: 28, now: 50_000, pid: 3, leaseMs: 500).isMiss(claimed: true))
        }
    }

    @Test func aLeaseEndsByTimeSoADeadResolverBlocksNobodyLong() throws {
        try Self.withCache { c in
            #expect(c.lookup("x.test", type: 1, now: 0 + 1, pid: 1, leaseMs: 200).isMiss(claimed: true))
            #expect(c.lookup("x.test", type: 1, now: 150, pid: 2, leaseMs: 200).isMiss(claimed: false))
            #expect(c.lookup("x.test", type: 1, now: 202, pid: 2, leaseMs: 200).isMiss(claimed: true))
            c.release("x.test", type: 1)
            #expect(c.used == 0)
        }
    }

    @Test func negativeEntriesAndTheirTTL() throws {
        try Self.withCache { c in
            #expect(c.storeNegative("gone.test", type: 1, rcode: 3, ttl: 60, now: 1000))
            guard case .hit(let e) = c.lookup("gone.test", type: 1, now: 60_999, pid: 1, leaseMs: 100) else {
                Issue.record("expected a negative hit"); return
            }
            #expect(e.state == .negative(rcode: 3) && e.records.isEmpty)
            #expect(DNSResolver.answer(e) == .none)
            #expect(c.storeNegative("silent.test", type: 1, rcode: DNSCacheTable.rcodeTimeout, ttl: 60, now: 1000))
            if case .hit(let t) = c.lookup("silent.test", type: 1, now: 2000, pid: 1, leaseMs: 100) {
                #expect(DNSResolver.answer(t) == .unavailable)
            } else {
                Issue.record("expected a cached timeout")
            }
            guard case .stale = c.lookup("gone.test", type: 1, now: 61_000, pid: 1, leaseMs: 100) else {
                Issue.record("expected the negative entry to have expired"); return
            }
        }
    }

    @Test func aFullCacheEvictsExpiredFirstAndLiveOnlyWhenAllowed() throws {
        for allowLive in [false, true] {
            try Self.withCache(kilobytes: 4, deleteNonExpired: allowLive) { c in
                let n = c.capacity
                #expect(n >= 2)
                for i in 0..<n { #expect(c.store("h\(i).test", type: 1, records: [Self.a], ttl: 100, now: 1000 + UInt64(i))) }
                // All live: a new name fits only when live entries may go (the least recently used).
                #expect(c.store("new.test", type: 1, records: [Self.a], ttl: 100, now: 5000) == allowLive)
                if allowLive {
                    #expect(c.lookup("h0.test", type: 1, now: 5001, pid: 1, leaseMs: 10).isMiss(claimed: true))
                }
                // Once some expired, they make room whatever the setting.
                #expect(c.store("later.test", type: 1, records: [Self.a], ttl: 100, now: 200_000))
                #expect(c.collectGarbage(now: 10_000_000) > 0)
            }
        }
    }

    // MARK: - RFC 3263 against the responder

    static var zone: [String: Any] { [
        "records": [
            ["service.test", "NAPTR", 60, [20, 10, "s", "SIP+D2T", "", "_sip._tcp.service.test"]],
            ["service.test", "NAPTR", 10, [10, 10, "s", "SIP+D2U", "", "_sip._udp.service.test"]],
            ["_sip._udp.service.test", "SRV", 60, [10, 0, 5071, "a.service.test"]],
            ["_sip._udp.service.test", "SRV", 60, [20, 0, 5072, "b.service.test"]],
            ["_sip._tcp.service.test", "SRV", 60, [10, 0, 5073, "a.service.test"]],
            ["a.service.test", "A", 60, "127.0.0.1"],
            ["b.service.test", "A", 60, "127.0.0.2"],
            ["plain.test", "A", 60, "127.0.0.3"],
            ["alias.test", "CNAME", 60, "plain.test"],
            ["_sip._udp.nohost.test", "SRV", 60, [10, 0, 5074, "missing.test"]],
            ["nohost.test", "A", 60, "127.0.0.4"],
        ],
        "silent": ["slow.test", "_sip._udp.slow.test"],
    ] }

    func resolver(_ dns: DNSTestServer, _ settings: DNSSettings = DNSSettings(), cache: DNSCacheTable?, pid: Int32 = 100) -> DNSResolver {
        let config = ResolverConfig.load(path: dns.resolvConf)
        let client = DNSClient(config: config, timeoutSeconds: settings.retransmitSeconds, tries: settings.retries)
        return DNSResolver(settings: settings, cache: cache, client: client, pid: pid, families: [.ipv4])
    }

    static func described(_ targets: [SIPTarget]) -> [String] { targets.map { "\($0.transport.name):\($0.address)" } }

    @Test func naptrThenSrvThenAddresses() throws {
        let dns = try DNSTestServer(zone: Self.zone)
        var settings = DNSSettings()
        settings.tryNAPTR = true
        try Self.withCache { c in
            let r = resolver(dns, settings, cache: c)
            // udp preferred (30 over tcp's 20): its SRV records by priority, then tcp's.
            #expect(Self.described(r.targets(host: "service.test", port: nil, transport: nil))
                    == ["udp:127.0.0.1:5071", "udp:127.0.0.2:5072", "tcp:127.0.0.1:5073"])
            // Second time: all from the cache.
            let asked = dns.queries.count
            _ = r.targets(host: "service.test", port: nil, transport: nil)
            #expect(dns.queries.count == asked)
            // Equal preferences: NAPTR order decides (tcp's record has order 20, udp's 10).
            settings.tcpPreference = 30
            #expect(Self.described(resolver(dns, settings, cache: c).targets(host: "service.test", port: nil, transport: nil)).first
                    == "udp:127.0.0.1:5071")
            // tcp preferred.
            settings.tcpPreference = 40
            #expect(Self.described(resolver(dns, settings, cache: c).targets(host: "service.test", port: nil, transport: nil)).first
                    == "tcp:127.0.0.1:5073")
        }
    }

    @Test func kamailiosDefaultsWithoutNaptrAndTheOtherCases() throws {
        let dns = try DNSTestServer(zone: Self.zone)
        let r = resolver(dns, cache: nil)
        // dns_try_naptr off (the default): _sip._udp SRV directly.
        #expect(Self.described(r.targets(host: "service.test", port: nil, transport: nil))
                == ["udp:127.0.0.1:5071", "udp:127.0.0.2:5072"])
        #expect(!dns.queries.contains("service.test NAPTR"))
        // A transport without a port: that transport's SRV.
        #expect(Self.described(r.targets(host: "service.test", port: nil, transport: .tcp)) == ["tcp:127.0.0.1:5073"])
        // A port: A records only, no SRV.
        #expect(Self.described(r.targets(host: "plain.test", port: 5099, transport: nil)) == ["udp:127.0.0.3:5099"])
        #expect(!dns.queries.contains("_sip._udp.plain.test SRV"))
        // No SRV: A on 5060; via a CNAME as well.
        #expect(Self.described(r.targets(host: "plain.test", port: nil, transport: nil)) == ["udp:127.0.0.3:5060"])
        #expect(Self.described(r.targets(host: "alias.test", port: nil, transport: nil)) == ["udp:127.0.0.3:5060"])
        // sips: TLS, 5061.
        #expect(Self.described(r.targets(host: "plain.test", port: nil, transport: nil, secure: true)) == ["tls:127.0.0.3:5061"])
        // Numeric hosts are not looked up.
        let before = dns.queries.count
        #expect(Self.described(r.targets(host: "127.0.0.9", port: nil, transport: nil)) == ["udp:127.0.0.9:5060"])
        #expect(dns.queries.count == before)
        // An SRV target without addresses is skipped; NXDOMAIN gives nothing.
        #expect(r.targets(host: "nohost.test", port: nil, transport: nil).isEmpty)
        #expect(r.targets(host: "nowhere.test", port: nil, transport: nil).isEmpty)
    }

    @Test func srvWeightsAreFollowedWithinAPriority() {
        let records = [DNSResolver.SRV(priority: 1, weight: 0, port: 1, target: "z"),
                       DNSResolver.SRV(priority: 0, weight: 10, port: 2, target: "a"),
                       DNSResolver.SRV(priority: 0, weight: 30, port: 3, target: "b"),
                       DNSResolver.SRV(priority: 0, weight: 60, port: 4, target: "c")]
        var firsts: [String: Int] = [:]
        let runs = 6000
        for _ in 0..<runs {
            let ordered = DNSResolver.order(records, loadBalance: true)
            #expect(ordered.count == 4 && ordered.last?.target == "z")
            firsts[ordered[0].target, default: 0] += 1
        }
        // Expected shares 10 %, 30 %, 60 % (+- 3 points: > 5 standard deviations).
        for (target, share) in [("a", 0.1), ("b", 0.3), ("c", 0.6)] {
            let seen = Double(firsts[target] ?? 0) / Double(runs)
            #expect(abs(seen - share) < 0.03, "\(target): \(seen)")
        }
        // Without dns_srv_lb: priority, then the order the server gave.
        #expect(DNSResolver.order(records, loadBalance: false).map(\.target) == ["a", "b", "c", "z"])
        // A zero weight among others is drawn rarely but drawn (RFC 2782 puts it first).
        let zero = [DNSResolver.SRV(priority: 0, weight: 0, port: 1, target: "zero"),
                    DNSResolver.SRV(priority: 0, weight: 1, port: 2, target: "one")]
        #expect(DNSResolver.order(zero, loadBalance: true, random: { _ in 0 }).first?.target == "zero")
        #expect(DNSResolver.order(zero, loadBalance: true, random: { $0 }).first?.target == "one")
    }

    /// A name server that never answers: the first lookup waits its budget (1 s here),
    /// then the timeout is cached, so the next lookups return at once; and a process that
    /// finds another resolving the name does not wait either.
    @Test func silentServerCostsOneBudgetThenNothing() throws {
        let dns = try DNSTestServer(zone: Self.zone)
        var settings = DNSSettings()
        settings.retransmitSeconds = 1
        settings.retries = 1
        try Self.withCache { c in
            let r = resolver(dns, settings, cache: c)
            var start = Date()
            #expect(r.targets(host: "slow.test", port: nil, transport: nil).isEmpty)
            let first = Date().timeIntervalSince(start)
            #expect(first >= 0.9 && first < 3)
            start = Date()
            #expect(r.targets(host: "slow.test", port: nil, transport: nil).isEmpty)
            #expect(Date().timeIntervalSince(start) < 0.2)
            // Another process holds the lease on a name: this one returns at once.
            #expect(c.lookup("_sip._udp.busy.test", type: DNSCacheRecord.typeSRV, pid: 7, leaseMs: 5000).isMiss(claimed: true))
            start = Date()
            var scratch: [DNSResolver.Key: [DNSCacheRecord]] = [:]
            #expect(r.lookup("_sip._udp.busy.test", type: DNSCacheRecord.typeSRV, deadlineMs: MonotonicClock.nowMs + 5000,
                             scratch: &scratch) == .unavailable)
            #expect(Date().timeIntervalSince(start) < 0.2)
        }
    }

    @Test func negativeAnswersAreCachedForTheNegativeTTL() throws {
        let dns = try DNSTestServer(zone: Self.zone)
        try Self.withCache { c in
            let r = resolver(dns, cache: c)
            #expect(r.targets(host: "nowhere.test", port: 5060, transport: nil).isEmpty)
            let asked = dns.queries.count
            #expect(asked >= 1)
            #expect(r.targets(host: "nowhere.test", port: 5060, transport: nil).isEmpty)
            #expect(dns.queries.count == asked)
            var noNegative = DNSSettings()
            noNegative.negativeTTL = 0
            c.flush()
            let r0 = resolver(dns, noNegative, cache: c)
            _ = r0.targets(host: "nowhere.test", port: 5060, transport: nil)
            _ = r0.targets(host: "nowhere.test", port: 5060, transport: nil)
            #expect(dns.queries.count == asked + 2)
        }
    }
}

extension DNSCacheTable.Lookup {
    func isMiss(claimed: Bool) -> Bool {
        if case .miss(let c) = self { return c == claimed }
        return false
    }

    var records: [DNSCacheRecord]? {
        if case .hit(let e) = self { return e.records }
        return nil
    }
}
