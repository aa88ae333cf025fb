import Script

/// The core parameters of DNS resolution and of the DNS cache, under Kamailio's names and
/// with Kamailio's defaults (see docs/dns.md for what each does in Respite).
public struct DNSSettings: Sendable, Equatable {
    /// Seconds to wait for an answer before the next try (nil: resolv.conf's `timeout`, else 5).
    public var retransmitSeconds: Int?
    /// Tries per query (nil: resolv.conf's `attempts`, else 2).
    public var retries: Int?
    public var tryIPv6 = true
    public var tryNAPTR = false
    public var srvLoadBalancing = false
    /// NAPTR transport preferences (higher wins; negative disables).
    public var udpPreference = 30
    public var tcpPreference = 20
    public var tlsPreference = 10
    public var useCache = true
    public var cacheInit = true
    /// 1: IPv4 only, 2: IPv6 only, 4: IPv6 before IPv4.
    public var cacheFlags = 0
    public var negativeTTL = 60
    public var minTTL = 0
    public var maxTTL = Int(Int32.max)
    public var cacheKilobytes = 500
    public var gcIntervalSeconds = 120
    public var deleteNonExpired = false
    public var useFailover = false
    /// `dns_workers` (Respite's own, not Kamailio's): DNS Worker processes that resolve for
    /// receivers, whose t_relay is suspended meanwhile; 0: receivers resolve inline.
    public var workers = 1

    public init() {}

    /// How long after its expiry an answer may still be served while one process
    /// refreshes it (a Respite choice; Kamailio serves no expired answer).
    public static let staleSeconds = 30

    /// The values the loaded config sets.
    public init(_ settings: ConfigSettings) {
        func int(_ name: String) -> Int? { settings.coreInt(name) }
        func flag(_ name: String, _ fallback: Bool) -> Bool { int(name).map { $0 != 0 } ?? fallback }
        retransmitSeconds = int("dns_retr_time").flatMap { $0 >= 0 ? $0 : nil }
        retries = int("dns_retr_no").flatMap { $0 >= 0 ? $0 : nil }
        tryIPv6 = flag("dns_try_ipv6", tryIPv6)
        tryNAPTR = flag("dns_try_naptr", tryNAPTR)
        srvLoadBalancing = flag("dns_srv_lb", false) || flag("dns_srv_loadbalancing", false)
        udpPreference = int("dns_udp_pref") ?? udpPreference
        tcpPreference = int("dns_tcp_pref") ?? tcpPreference
        tlsPreference = int("dns_tls_pref") ?? tlsPreference
        useCache = flag("use_dns_cache", useCache)
        cacheInit = flag("dns_cache_init", cacheInit)
        cacheFlags = int("dns_cache_flags") ?? cacheFlags
        negativeTTL = int("dns_cache_negative_ttl") ?? negativeTTL
        minTTL = int("dns_cache_min_ttl") ?? minTTL
        maxTTL = int("dns_cache_max_ttl") ?? maxTTL
        cacheKilobytes = int("dns_cache_mem") ?? cacheKilobytes
        gcIntervalSeconds = int("dns_cache_gc_interval") ?? gcIntervalSeconds
        deleteNonExpired = flag("dns_cache_del_nonexp", false) || flag("dns_cache_delete_nonexpired", false)
        useFailover = flag("use_dns_failover", useFailover)
        workers = int("dns_workers") ?? workers
    }

    /// Whether lookups go through the arena's cache (it exists only with `dns_cache_init`).
    public var cached: Bool { useCache && cacheInit }

    /// The TTL an answer is kept for, after `dns_cache_min_ttl` and `dns_cache_max_ttl`.
    func clampTTL(_ ttl: UInt32) -> UInt32 {
        UInt32(clamping: min(max(Int(ttl), minTTL), maxTTL))
    }

    /// The core parameters, registered with the runtime's validators.
    static var paramSpecs: [CoreParamSpec] {
        let nonNegative: @Sendable (ConfigValue) -> String? = { v in
            if case .int(let i) = v, i < 0 { return "must not be negative" }
            return nil
        }
        let anyInt: @Sendable (ConfigValue) -> String? = { _ in nil }
        return [
            CoreParamSpec("dns_retr_time", .int, validate: anyInt),
            CoreParamSpec("dns_retr_no", .int, validate: anyInt),
            CoreParamSpec("dns_try_ipv6", .bool, default: .int(1)),
            CoreParamSpec("dns_try_naptr", .bool, default: .int(0)),
            CoreParamSpec("dns_srv_lb", .bool, default: .int(0)),
            CoreParamSpec("dns_srv_loadbalancing", .bool, default: .int(0)),
            CoreParamSpec("dns_udp_pref", .int, default: .int(30)),
            CoreParamSpec("dns_tcp_pref", .int, default: .int(20)),
            CoreParamSpec("dns_tls_pref", .int, default: .int(10)),
            CoreParamSpec("dns_sctp_pref", .int, default: .int(20)),
            CoreParamSpec("dns_servers_no", .int, validate: nonNegative),
            CoreParamSpec("dns_use_search_list", .bool, default: .int(1)),
            CoreParamSpec("dns_search_full_match", .bool, default: .int(1)),
            CoreParamSpec("dns_naptr_ignore_rfc", .bool, default: .int(1)),
            CoreParamSpec("use_dns_cache", .bool, default: .int(1)),
            CoreParamSpec("dns_cache_init", .bool, default: .int(1)),
            CoreParamSpec("use_dns_failover", .bool, default: .int(0)),
            CoreParamSpec("dns_cache_flags", .int, default: .int(0)) { v in
                if case .int(let i) = v, !(0...7).contains(i) { return "dns_cache_flags is a sum of 1, 2 and 4" }
                return nil
            },
            CoreParamSpec("dns_cache_negative_ttl", .int, default: .int(60), validate: nonNegative),
            CoreParamSpec("dns_cache_min_ttl", .int, default: .int(0), validate: nonNegative),
            CoreParamSpec("dns_cache_max_ttl", .int, validate: nonNegative),
            CoreParamSpec("dns_cache_mem", .int, default: .int(500)) { v in
                if case .int(let i) = v, !(1...(1 << 20)).contains(i) { return "dns_cache_mem is in KB, between 1 and 1048576" }
                return nil
            },
            CoreParamSpec("dns_cache_gc_interval", .int, default: .int(120), validate: nonNegative),
            CoreParamSpec("dns_cache_del_nonexp", .bool, default: .int(0)),
            CoreParamSpec("dns_cache_delete_nonexpired", .bool, default: .int(0)),
            CoreParamSpec("dns_workers", .int, default: .int(1)) { v in
                if case .int(let i) = v, !(0...64).contains(i) { return "dns_workers is between 0 and 64" }
                return nil
            },
        ]
    }
}
