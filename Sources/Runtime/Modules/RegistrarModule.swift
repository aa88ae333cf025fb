import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// registrar: REGISTER processing and user location lookups over usrloc's table
/// (docs/modules/registrar.md). Function return codes are Kamailio 5.6's.
enum RegistrarModule {
    static var spec: ModuleSpec {
        var spec = ModuleSpec(name: "registrar", params: RegistrarSettings.params, functions: [
            FunctionSpec("save", args: [.string, .any, .string], minArgs: 1, fixup: checkTable) { ctx, args in
                guard ctx.message.message.isRequest, let store = ctx.message.locationStore(args.string(0, &ctx)) else { return -1 }
                let flags = args.count > 1 ? parseFlags(args.string(1, &ctx)) : 0
                let uri = args.count > 2 ? args.string(2, &ctx) : ctx.message.message.to.uriString
                let settings = ctx.message.process.registrarSettings
                let save = RegistrarSave(context: ctx.message, store: store, settings: settings,
                                         useDomain: store.useDomain, flags: flags)
                return save.run(aorURI: uri)
            },
            FunctionSpec("lookup", args: [.string, .string], minArgs: 1, fixup: checkTable) { ctx, args in
                let uri = args.count > 1 ? args.string(1, &ctx) : ctx.message.requestURI
                return lookup(&ctx, table: args.string(0, &ctx), uri: uri)
            },
            FunctionSpec("registered", args: [.string, .string, .int, .int], minArgs: 1, fixup: checkTable) { ctx, args in
                guard let store = ctx.message.locationStore(args.string(0, &ctx)) else { return -1 }
                let uri = args.count > 1 ? args.string(1, &ctx) : ctx.message.requestURI
                guard let aor = AOR.of(uri, useDomain: store.useDomain) else { return -1 }
                let now = LocationTable.now
                return (store.contacts(of: aor) ?? []).contains { !$0.isExpired(now: now) } ? 1 : -1
            },
            FunctionSpec("unregister", args: [.string, .string, .string], minArgs: 2, fixup: checkTable) { ctx, args in
                guard let store = ctx.message.locationStore(args.string(0, &ctx)) else { return -2 }
                guard let aor = AOR.of(args.string(1, &ctx), useDomain: store.useDomain) else { return -1 }
                let ruid = args.count > 2 ? args.string(2, &ctx) : ""
                if ruid.isEmpty {
                    guard let n = store.remove(aor: aor) else { return -2 }
                    return n > 0 ? 1 : -3
                }
                guard let all = store.contacts(of: aor) else { return -2 }
                guard let c = all.first(where: { $0.ruid == ruid }) else { return -3 }
                return store.remove(c) ? 1 : -3
            },
            FunctionSpec("reg_fetch_contacts", args: [.string, .string, .string], fixup: checkTable) { ctx, args in
                guard let store = ctx.message.locationStore(args.string(0, &ctx)) else { return -1 }
                let profile = args.string(2, &ctx)
                guard let aor = AOR.of(args.string(1, &ctx), useDomain: store.useDomain) else { return -1 }
                let now = LocationTable.now
                let found = (store.contacts(of: aor) ?? []).filter { !$0.isExpired(now: now) }
                ctx.message.process.registrar.profiles[profile] = RegistrarProfile(aor: aor, domain: args.string(0, &ctx), contacts: found)
                return found.isEmpty ? -1 : 1
            },
            FunctionSpec("reg_free_contacts", args: [.string]) { ctx, args in
                ctx.message.process.registrar.profiles[args.string(0, &ctx)] = nil
                return 1
            },
        ], variables: [
            VariableClassSpec("ulc", nameRule: .required, validateName: checkULCName) { ctx, name in
                ulc(&ctx, name)
            },
        ])
        // The parameters are read once, when the config loads (RegistrarSettings.of).
        spec.checkParams = { (context: inout ModuleParamsContext) in context.derived = RegistrarSettings(context.settings) }
        return spec
    }

    /// The table argument: in db_mode 0 any name (one domain in memory); with a database
    /// a literal SQL table name, and in db_mode 1 and 2 the in-memory domain's table
    /// (usrloc's `preload`, else "location").
    static let checkTable: @Sendable (inout FixupContext) -> Void = { fc in
        let name = fc.staticString(0)
        if let name, name.isEmpty {
            fc.error("the location table name is empty", argument: 0)
        }
        let ul = UsrlocSettings.of(fc.settings)
        if ul.dbMode != 0, fc.settings.modules.contains("usrloc") {
            if name == nil || !LocationDatabase.isIdentifier(name!) {
                fc.error("with usrloc db_mode \(ul.dbMode) the table must be a literal table name (letters, digits, '_', '.')", argument: 0)
            } else if ul.dbMode != 3, name != ul.memoryTable {
                fc.error("usrloc db_mode \(ul.dbMode) keeps one table in memory, '\(ul.memoryTable)' (set usrloc's preload to use another)", argument: 0)
            }
        }
        if !fc.settings.modules.contains("usrloc") {
            fc.error("registrar needs usrloc: add loadmodule \"usrloc.so\"", argument: 0)
        }
    }

    /// "0x05", "5" -> 5; anything else 0.
    static func parseFlags(_ text: String) -> Int {
        let t = Substring(text).trimmingSpaces
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return Int(t.dropFirst(2), radix: 16) ?? 0 }
        return Int(t) ?? 0
    }

    /// lookup(): the best contact becomes the R-URI, its Path or received the $du.
    static func lookup(_ ctx: inout ExecContext, table name: String, uri: String) -> Int {
        let m = ctx.message
        guard let store = m.locationStore(name) else { return -3 }
        guard let aor = AOR.of(uri, useDomain: store.useDomain) else { return -1 }
        let settings = m.process.registrarSettings
        let now = LocationTable.now
        guard let all = store.contacts(of: aor) else { return -1 }
        let live = all.filter { !$0.isExpired(now: now) }
        guard !live.isEmpty else { return -1 }
        var usable = live
        let message = m.message
        if settings.methodFiltering, message.to.tag == nil, let bit = RegistrarSettings.methodBits[message.method.name] {
            usable = live.filter { ($0.methods ?? UInt32.max) & bit != 0 }
            if usable.isEmpty { return -2 }
        }
        let best = usable[0]
        m.edits.requestURI = best.uri
        m.edits.requestURIQ = best.q < 0 ? nil : best.q
        m.edits.destinationURI = nextHop(best)
        // append_branches (the default): the other contacts join the destination set, and
        // t_relay forks to every one of them.
        if settings.appendBranches {
            for c in usable.dropFirst() {
                m.edits.branches.append(ScriptEdits.Branch(uri: c.uri, destinationURI: nextHop(c), q: c.q < 0 ? nil : c.q))
            }
        }
        return 1
    }

    /// Where a request to contact `c` goes first: its Path's first hop, else the address
    /// it registered from (received), else its own URI (nil).
    static func nextHop(_ c: LocationTable.Contact) -> String? {
        if !c.path.isEmpty { return firstPathURI(c.path) }
        return c.received.isEmpty ? nil : c.received
    }

    /// The URI of the first hop of a Path value: `<sip:edge;lr>,<...>` -> `sip:edge;lr`.
    static func firstPathURI(_ path: String) -> String {
        let first = path.split(separator: ",").first.map { $0.trimmingSpaces } ?? Substring(path)
        if let open = first.firstIndex(of: "<"), let close = first.firstIndex(of: ">"), open < close {
            return String(first[first.index(after: open)..<close])
        }
        return String(first)
    }

    static let ulcAttributes: Set<String> = [
        "aor", "domain", "aorhash", "addr", "path", "received", "expires", "callid", "q", "cseq", "flags", "cflags",
        "user_agent", "socket", "modified", "methods", "count", "ruid", "regid", "instance", "conid", "server_id",
    ]

    static let checkULCName: @Sendable (String) -> String? = { name in
        let (profile, attr) = PVModule.splitXavp(name)
        guard let attr, !profile.isEmpty else { return "expected profile=>attr, got '\(name)'" }
        return ulcAttributes.contains(attr) ? nil : "unknown $ulc attribute '\(attr)'"
    }

    /// `$ulc(profile=>attr)`, `$(ulc(profile=>attr)[i])`.
    static func ulc(_ ctx: inout ExecContext, _ name: VariableName) -> Value {
        let (profileName, attrName) = PVModule.splitXavp(name.name ?? "")
        guard let attr = attrName, let profile = ctx.message.process.registrar.profiles[profileName] else { return .null }
        switch attr {
        case "aor": return .string(profile.aor)
        case "domain": return .string(profile.domain)
        case "count": return .int(profile.contacts.count)
        case "aorhash": return .int(Int(HashHelpers.fnv1a(profile.aor)))
        default: break
        }
        var index = 0
        if case .at(let i)? = name.index { index = i }
        if index < 0 { index += profile.contacts.count }
        guard profile.contacts.indices.contains(index) else { return .null }
        let c = profile.contacts[index]
        switch attr {
        case "addr": return .string(c.uri)
        case "path": return c.path.isEmpty ? .null : .string(c.path)
        case "received": return c.received.isEmpty ? .null : .string(c.received)
        case "expires": return .int(c.expires)
        case "callid": return .string(c.callID)
        case "q": return .int(c.q)
        case "cseq": return .int(c.cseq)
        case "flags": return .int(Int(c.flags))
        case "cflags": return .int(Int(c.cflags))
        case "user_agent": return .string(c.userAgent)
        case "socket": return c.socket.isEmpty ? .null : .string(c.socket)
        case "modified": return .int(c.lastModified)
        case "methods": return .int(c.methods.map { Int($0) } ?? -1)
        case "ruid": return .string(c.ruid)
        case "regid": return .int(c.regID)
        case "instance": return c.instance.isEmpty ? .null : .string(c.instance)
        case "server_id": return .int(0)
        default: return .null
        }
    }
}

/// What reg_fetch_contacts() copied for one profile name.
struct RegistrarProfile {
    var aor: String
    var domain: String
    var contacts: [LocationTable.Contact]
}

/// registrar's state in one process (ProcessContext.registrar).
struct RegistrarProcessState {
    var profiles: [String: RegistrarProfile] = [:]
    /// usrloc's view of each table a registrar function named, made on first use: the
    /// settings and the database connection do not change while the process runs.
    var locationStores: [String: LocationStore] = [:]
    /// Starts at a random value, so that servers sharing one database (usrloc db_mode 3)
    /// do not make the same ruid when their processes have the same pid.
    private var ruidCounter = Int.random(in: 0..<(1 << 24))
    /// This process's pid in hex, taken at the first RUID (in the process that makes it).
    private var pidHex: String?

    /// A record id unique in this server (and, by its random counter start, across servers
    /// on one database): `uloc-<time hex>-<pid hex>-<counter hex>`.
    mutating func nextRUID(now: Int) -> String {
        ruidCounter += 1
        let pid = pidHex ?? String(getpid(), radix: 16)
        pidHex = pid
        return "uloc-\(String(now, radix: 16))-\(pid)-\(String(ruidCounter, radix: 16))"
    }
}

enum HashHelpers {
    static func fnv1a(_ s: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in s.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }
}
