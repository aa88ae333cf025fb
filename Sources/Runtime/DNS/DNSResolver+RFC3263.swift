import SIP
import Shared

/// RFC 3263's steps from a SIP URI to an ordered list of targets, with Kamailio's choices
/// where the RFC leaves one (docs/dns.md):
///
/// - a numeric host is used as it is, on the URI's port or the transport's default;
/// - with a port, only A/AAAA;
/// - with `transport=` and no port, the SRV records of that transport, else A/AAAA;
/// - with neither: NAPTR when `dns_try_naptr` (records sorted by Kamailio's transport
///   preference, `dns_udp_pref` / `dns_tcp_pref` / `dns_tls_pref`, then order and
///   preference); without NAPTR (or when it gives nothing) SRV of the preferred
///   transport (with `dns_try_naptr` off: `_sip._udp`, or `_sips._tcp` for sips:, as
///   Kamailio does), else A/AAAA on 5060 (5061 for TLS).
///
/// SRV records are ordered by priority; within a priority by RFC 2782's weighted random
/// draw when `dns_srv_lb` is on, else as the server listed them. A/AAAA: IPv4 first
/// (`dns_cache_flags` 4: IPv6 first; 1 or 2: one family only), the second family asked
/// only when the first gave nothing and `dns_try_ipv6` is on, and only families the
/// server has a listen socket of.
extension DNSResolver {
    /// The ordered targets for a URI; empty when nothing resolves now.
    public func targets(for uri: SIPURI) -> [SIPTarget] {
        let transport = uri.params.value("transport").flatMap { SIPTransport(name: $0) }
        return targets(host: uri.host, port: uri.port, transport: transport, secure: uri.isSecure)
    }

    /// The ordered targets for a host, an optional port and transport; `secure` for a
    /// sips: URI (TLS only).
    public func targets(host rawHost: String, port: Int?, transport: SIPTarget.Transport?, secure: Bool = false) -> [SIPTarget] {
        var host = rawHost
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let defaultTransport: SIPTarget.Transport = secure ? .tls : (transport ?? .udp)
        let chosen = secure ? SIPTarget.Transport.tls : (transport ?? defaultTransport)
        if let literal = SocketAddress(host: host, port: port ?? Self.defaultPort(chosen)) {
            return [SIPTarget(transport: chosen, address: literal, srvName: nil, host: host)]
        }
        if let p = port, !(0...65535).contains(p) { return [] }
        let deadline = MonotonicClock.nowMs + budgetMs
        var scratch: [Key: [DNSCacheRecord]] = [:]
        var out: [SIPTarget] = []
        // RFC 3263 4.2: A/AAAA on the default port only when no SRV record exists (SRV
        // records whose targets have no address give no target at all).
        if let port {
            out = addresses(host, port: port, transport: chosen, srv: nil, deadlineMs: deadline, scratch: &scratch)
        } else if transport != nil || secure {
            switch srvTargets(host, transport: chosen, secure: secure, deadlineMs: deadline, scratch: &scratch) {
            case .found(let srv): out = srv
            case .unavailable: out = []
            case .absent:
                out = addresses(host, port: Self.defaultPort(chosen), transport: chosen, srv: nil, deadlineMs: deadline, scratch: &scratch)
            }
        } else {
            // A step the name servers did not answer (or another process is resolving)
            // ends the resolution: falling through to the next would ask the same silent
            // servers again and make every request wait.
            var step = Step.absent
            if settings.tryNAPTR {
                step = naptrTargets(host, secure: secure, deadlineMs: deadline, scratch: &scratch)
            }
            if case .absent = step {
                let order: [SIPTarget.Transport] = settings.tryNAPTR ? preferredTransports(secure: secure) : [defaultTransport]
                for t in order {
                    step = srvTargets(host, transport: t, secure: secure, deadlineMs: deadline, scratch: &scratch)
                    if case .absent = step { continue }
                    break
                }
            }
            switch step {
            case .found(let found): out = found
            case .unavailable: out = []
            case .absent:
                out = addresses(host, port: Self.defaultPort(defaultTransport), transport: defaultTransport, srv: nil,
                                deadlineMs: deadline, scratch: &scratch)
            }
        }
        return out
    }

    static func defaultPort(_ t: SIPTarget.Transport) -> Int { t == .tls ? 5061 : 5060 }

    static func srvName(_ host: String, transport: SIPTarget.Transport) -> String {
        switch transport {
        case .udp: return "_sip._udp.\(host)"
        case .tcp: return "_sip._tcp.\(host)"
        case .tls: return "_sips._tcp.\(host)"
        }
    }

    /// Transports by Kamailio's preference (higher first; negative: never), udp, tcp, tls on ties.
    func preferredTransports(secure: Bool) -> [SIPTarget.Transport] {
        if secure { return settings.tlsPreference >= 0 ? [.tls] : [] }
        let prefs: [(SIPTarget.Transport, Int)] = [(.udp, settings.udpPreference), (.tcp, settings.tcpPreference),
                                                   (.tls, settings.tlsPreference)]
        return prefs.enumerated().filter { $0.element.1 >= 0 }
            .sorted { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset }
            .map(\.element.0)
    }

    func preference(_ t: SIPTarget.Transport) -> Int {
        switch t {
        case .udp: return settings.udpPreference
        case .tcp: return settings.tcpPreference
        case .tls: return settings.tlsPreference
        }
    }

    /// What one step of the resolution (NAPTR, SRV) gave.
    enum Step {
        /// Records, resolved to these targets (maybe none: targets without addresses).
        case found([SIPTarget])
        /// No such records: go on to the next step.
        case absent
        /// No answer now (a timeout, or another process is resolving it).
        case unavailable
    }

    /// NAPTR (RFC 3403) records for SIP with the "s" flag, ordered, each followed into SRV.
    func naptrTargets(_ host: String, secure: Bool, deadlineMs: UInt64, scratch: inout [Key: [DNSCacheRecord]]) -> Step {
        let records: [DNSCacheRecord]
        switch lookup(host, type: DNSCacheRecord.typeNAPTR, deadlineMs: deadlineMs, scratch: &scratch) {
        case .records(let r): records = r
        case .none: return .absent
        case .unavailable: return .unavailable
        }
        var usable: [(transport: SIPTarget.Transport, order: UInt16, preference: UInt16, replacement: String, index: Int)] = []
        for (i, r) in records.enumerated() {
            guard case .naptr(let order, let pref, let flags, let service, _, let replacement) = r.data,
                  flags.lowercased() == "s", !replacement.isEmpty else { continue }
            let t: SIPTarget.Transport
            switch service.uppercased() {
            case "SIP+D2U" where !secure: t = .udp
            case "SIP+D2T" where !secure: t = .tcp
            case "SIPS+D2T": t = .tls
            default: continue
            }
            guard preference(t) >= 0 else { continue }
            usable.append((t, order, pref, replacement, i))
        }
        usable.sort {
            let (a, b) = (preference($0.transport), preference($1.transport))
            if a != b { return a > b }
            if $0.order != $1.order { return $0.order < $1.order }
            if $0.preference != $1.preference { return $0.preference < $1.preference }
            return $0.index < $1.index
        }
        guard !usable.isEmpty else { return .absent }
        var out: [SIPTarget] = []
        for n in usable {
            if case .found(let t) = srvRecordTargets(n.replacement, transport: n.transport, deadlineMs: deadlineMs, scratch: &scratch) {
                out += t
            }
        }
        return .found(out)
    }

    func srvTargets(_ host: String, transport: SIPTarget.Transport, secure: Bool, deadlineMs: UInt64,
                    scratch: inout [Key: [DNSCacheRecord]]) -> Step {
        srvRecordTargets(Self.srvName(host, transport: secure ? .tls : transport), transport: secure ? .tls : transport,
                         deadlineMs: deadlineMs, scratch: &scratch)
    }

    /// The SRV records of `name` in RFC 2782 order, each resolved to its addresses.
    func srvRecordTargets(_ name: String, transport: SIPTarget.Transport, deadlineMs: UInt64,
                          scratch: inout [Key: [DNSCacheRecord]]) -> Step {
        let records: [DNSCacheRecord]
        switch lookup(name, type: DNSCacheRecord.typeSRV, deadlineMs: deadlineMs, scratch: &scratch) {
        case .records(let r): records = r
        case .none: return .absent
        case .unavailable: return .unavailable
        }
        let srvs = records.compactMap { r -> SRV? in
            guard case .srv(let p, let w, let port, let target) = r.data else { return nil }
            // A target of "." says the service is not offered there (RFC 2782).
            return target.isEmpty || target == "." ? nil : SRV(priority: p, weight: w, port: port, target: target)
        }
        var out: [SIPTarget] = []
        for s in Self.order(srvs, loadBalance: settings.srvLoadBalancing) {
            out += addresses(s.target, port: Int(s.port), transport: transport, srv: DNSResolver.normalized(name),
                             deadlineMs: deadlineMs, scratch: &scratch)
        }
        return .found(out)
    }

    struct SRV: Equatable {
        var priority: UInt16
        var weight: UInt16
        var port: UInt16
        var target: String
    }

    /// Priority ascending; within one priority, RFC 2782's weighted random order (zero
    /// weights placed first, so they are picked rarely) when `loadBalance`, else as given.
    static func order(_ records: [SRV], loadBalance: Bool,
                      random: (UInt32) -> UInt32 = { UInt32.random(in: 0...$0) }) -> [SRV] {
        let priorities = Set(records.map(\.priority)).sorted()
        var out: [SRV] = []
        for p in priorities {
            var group = records.filter { $0.priority == p }
            guard loadBalance, group.count > 1 else {
                out += group
                continue
            }
            group = group.filter { $0.weight == 0 } + group.filter { $0.weight != 0 }
            while !group.isEmpty {
                let total = group.reduce(UInt32(0)) { $0 + UInt32($1.weight) }
                let pick = random(total)
                var running: UInt32 = 0
                var chosen = group.count - 1
                for (i, r) in group.enumerated() {
                    running += UInt32(r.weight)
                    if running >= pick {
                        chosen = i
                        break
                    }
                }
                out.append(group.remove(at: chosen))
            }
        }
        return out
    }

    /// A/AAAA of `host` as targets on `port`.
    func addresses(_ host: String, port: Int, transport: SIPTarget.Transport, srv: String?, deadlineMs: UInt64,
                   scratch: inout [Key: [DNSCacheRecord]]) -> [SIPTarget] {
        guard let port16 = UInt16(exactly: port) else { return [] }
        if let literal = SocketAddress(host: host, port: port) {
            return [SIPTarget(transport: transport, address: literal, srvName: srv, host: host)]
        }
        for type in addressTypes() {
            guard case .records(let records) = lookup(host, type: type, deadlineMs: deadlineMs, scratch: &scratch) else { continue }
            let found = records.compactMap { r -> SIPTarget? in
                guard case .address(let b) = r.data else { return nil }
                let a: SocketAddress? = b.count == 4
                    ? SocketAddress(ipv4: b.reduce(0) { $0 << 8 | UInt32($1) }, port: port16)
                    : SocketAddress(ipv6: b, port: port16)
                return a.map { SIPTarget(transport: transport, address: $0, srvName: srv, host: DNSResolver.normalized(host)) }
            }
            if !found.isEmpty { return found }
        }
        return []
    }

    /// The address record types to ask, in order (dns_cache_flags, dns_try_ipv6, and the
    /// families of the listen sockets).
    func addressTypes() -> [UInt16] {
        var v4 = families.contains(.ipv4), v6 = settings.tryIPv6 && families.contains(.ipv6)
        if settings.cacheFlags & 1 != 0 { v6 = false }
        if settings.cacheFlags & 2 != 0 && settings.cacheFlags & 1 == 0 { v4 = !v6 && v4 }
        var types: [UInt16] = []
        if v4 { types.append(DNSCacheRecord.typeA) }
        if v6 { types.append(DNSCacheRecord.typeAAAA) }
        return settings.cacheFlags & 4 != 0 ? types.reversed() : types
    }
}
