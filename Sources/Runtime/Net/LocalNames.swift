import SIP
import Script

/// The names this server answers to, as Kamailio's `myself` checks them: the listen
/// sockets (bound address, advertised address) and the `alias=` core parameters. Built from
/// the config in each process (read only after that; nothing of it is in the arena).
public struct LocalNames: Sendable {
    /// One `alias=[proto:]host[:port]`; a nil port or transport matches any.
    public struct Alias: Sendable, Equatable {
        public var host: String
        public var port: Int?
        public var transport: String?
    }

    public let aliases: [Alias]

    public init(aliases: [Alias]) { self.aliases = aliases }

    /// The `alias` values of a config (`example.com`, `udp:example.com:5070`, `[::1]:5060`).
    public init(settings: ConfigSettings) {
        aliases = (settings.core["alias"] ?? []).compactMap { Self.parseAlias(value: $0) }
    }

    static func parseAlias(value: ConfigValue) -> Alias? {
        guard case .string(let raw) = value else { return nil }
        // A value may list several aliases separated by blanks.
        return raw.split(separator: " ").first.flatMap { Self.parseAlias(String($0)) }
    }

    /// `[proto:]host[:port]`, IPv6 hosts in brackets; nil for an empty host.
    public static func parseAlias(_ text: String) -> Alias? {
        var rest = Substring(text)
        if rest.count >= 2, rest.hasPrefix("\""), rest.hasSuffix("\"") { rest = rest.dropFirst().dropLast() }
        var transport: String?
        for proto in ["udp:", "tcp:", "tls:", "sctp:", "ws:", "wss:"] where rest.lowercased().hasPrefix(proto) {
            transport = String(proto.dropLast())
            rest = rest.dropFirst(proto.count)
            break
        }
        var host: Substring
        var port: Int?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.startIndex...close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) }
        } else if let colon = rest.lastIndex(of: ":"), rest.firstIndex(of: ":") == colon {
            host = rest[..<colon]
            port = Int(rest[rest.index(after: colon)...])
        } else {
            host = rest
        }
        guard !host.isEmpty else { return nil }
        return Alias(host: String(host), port: port, transport: transport)
    }

    /// Whether `host:port` names one of `sockets` or an alias (host compared without case,
    /// IPv6 with or without brackets); a nil port matches any port, as Kamailio's check with
    /// port 0 does for `src_ip == myself`.
    public func isMyself(host: String, port: Int?, sockets: [LocalSocket]) -> Bool {
        let h = Self.bare(host)
        for s in sockets {
            if let port, port != Int(s.address.port) && port != s.viaPort { continue }
            if s.hostNames.contains(h) { return true }
            if h == "localhost" && s.address.isLoopback { return true }
        }
        return aliases.contains { a in
            (a.port == nil || port == nil || a.port == port) && Self.bare(a.host) == h
        }
    }

    /// Lowercased, without IPv6 brackets: how hosts are compared.
    static func bare(_ host: String) -> String {
        var h = Substring(host.lowercased())
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        return String(h)
    }

    /// The check behind `uri == myself` (the URI's host and port, 5060 when it has none,
    /// 5061 for sips) and `src_ip == myself` (the address on any port).
    static func check(_ ctx: inout ExecContext, _ value: Value, _ kind: MyselfSubject) -> Bool {
        let process = ctx.message.process
        switch kind {
        case .address:
            return process.localNames.isMyself(host: value.stringValue, port: nil, sockets: process.sockets)
        case .uri:
            guard let uri = SIPURI.parse(value.stringValue) else { return false }
            let port = uri.port ?? (uri.isSecure ? 5061 : 5060)
            return process.localNames.isMyself(host: uri.host, port: port, sockets: process.sockets)
        }
    }

    /// Registers `uri`, `from_uri`, `to_uri`, `msg:len` and the `myself` comparisons.
    static func register(_ r: inout ScriptRegistry) {
        let keywords: [(String, @Sendable (MessageContext) -> Value)] = [
            ("uri", { $0.message.isRequest ? .string($0.requestURI) : .null }),
            ("from_uri", { .string($0.message.from.uriString) }),
            ("to_uri", { .string($0.message.to.uriString) }),
            ("msg:len", { .int($0.message.bytes.count) }),
        ]
        for (name, get) in keywords {
            r.register(keyword: VariableClassSpec(name) { ctx, _ in get(ctx.message) })
        }
        for name in ["uri", "from_uri", "to_uri"] { r.register(myselfSubject: name, .uri) }
        for name in ["src_ip", "dst_ip"] { r.register(myselfSubject: name, .address) }
        r.register(myself: { ctx, value, kind in check(&ctx, value, kind) })
    }
}
