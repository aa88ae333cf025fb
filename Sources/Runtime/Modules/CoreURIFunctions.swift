import SIP
import Script
import Shared

/// Core functions that change where a request goes and how its Via asks for replies:
/// `seturi`/`rewriteuri`, `sethost`/`rewritehost`, `setport`/`rewriteport`,
/// `setuser`/`rewriteuser`, `sethostport`/`rewritehostport`, `prefix`, `strip`,
/// `strip_tail`, `revert_uri`, `force_rport` (`add_rport`), `add_local_rport` and
/// `set_forward_no_connect`; and what Kamailio keeps in modules beside them: kex's
/// `setdsturi`/`resetdsturi`/`isdsturiset`, corex's `append_branch`. They change the
/// message's `ScriptEdits` only. Kamailio accepts the core ones in every route type; on a
/// reply the URI functions return false.
enum CoreURIFunctions {
    static let requestSide: RouteTypeSet = .any

    static func register(_ r: inout ScriptRegistry) {
        for (names, rewrite) in rewrites {
            for name in names { r.register(coreFunction: uriFunction(name, rewrite)) }
        }
        for f in [revertURI, forceRPort, addRPort, addLocalRPort, setForwardNoConnect] {
            r.register(coreFunction: f)
        }
    }

    /// Each rewrite: the new Request-URI from the current one and the argument; nil when
    /// either does not fit.
    static let rewrites: [([String], @Sendable (String, String) -> String?)] = [
        (["seturi", "rewriteuri"], { _, v in SIPURI.parse(v) != nil || v.hasPrefix("tel:") ? v : nil }),
        (["sethost", "rewritehost"], { uri, v in URIEdit.replacingHost(uri, v) }),
        (["setport", "rewriteport"], { uri, v in Int(v).flatMap { URIEdit.replacingPort(uri, $0) } }),
        (["setuser", "rewriteuser"], { uri, v in URIEdit.replacingUser(uri, v) }),
        (["sethostport", "rewritehostport"], { uri, v in
            let (host, port) = splitHostPort(v)
            guard let withHost = URIEdit.replacingHost(uri, host) else { return nil }
            return URIEdit.replacingPort(withHost, port ?? 0)
        }),
        (["prefix"], { uri, v in URIEdit.replacingUser(uri, v + (SIPURI.parse(uri)?.user ?? "")) }),
        (["strip"], { uri, v in
            guard let n = Int(v), n >= 0, let user = SIPURI.parse(uri)?.user else { return nil }
            return URIEdit.replacingUser(uri, String(user.dropFirst(n)))
        }),
        (["strip_tail"], { uri, v in
            guard let n = Int(v), n >= 0, let user = SIPURI.parse(uri)?.user else { return nil }
            return URIEdit.replacingUser(uri, String(user.dropLast(n)))
        }),
    ]

    /// `host[:port]`, the host possibly a bracketed IPv6 reference.
    static func splitHostPort(_ text: String) -> (String, Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[...close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        return (String(text[..<colon]), Int(text[text.index(after: colon)...]))
    }

    static func uriFunction(_ name: String, _ rewrite: @escaping @Sendable (String, String) -> String?) -> FunctionSpec {
        FunctionSpec(name, args: [.string], allowedRoutes: requestSide) { ctx, args in
            let m = ctx.message
            guard m.message.isRequest else { return -1 }
            let value = args.string(0, &ctx)
            guard let uri = rewrite(m.requestURI, value) else {
                m.process.log.error("core", "\(name)(\"\(value)\"): cannot rewrite \(m.requestURI)")
                return -1
            }
            m.edits.requestURI = uri
            return 1
        }
    }

    /// The Request-URI as received.
    static let revertURI = FunctionSpec("revert_uri", allowedRoutes: requestSide) { ctx, _ in
        guard ctx.message.message.isRequest else { return -1 }
        ctx.message.edits.requestURI = nil
        return 1
    }

    /// kex's `$du` functions.
    static let kexFunctions = [setDstURI, resetDstURI, isDstURISet]

    static let setDstURI = FunctionSpec("setdsturi", args: [.string]) { ctx, args in
        let v = args.string(0, &ctx)
        guard SIPURI.parse(v) != nil else { return -1 }
        ctx.message.edits.destinationURI = v
        return 1
    }

    static let resetDstURI = FunctionSpec("resetdsturi") { ctx, _ in
        ctx.message.edits.destinationURI = nil
        return 1
    }

    static let isDstURISet = FunctionSpec("isdsturiset") { ctx, _ in
        ctx.message.edits.destinationURI == nil ? -1 : 1
    }

    /// Replies go to the source port; the relayed request's Via says `rport=<port>`.
    static let forceRPort = FunctionSpec("force_rport") { ctx, _ in
        ctx.message.edits.forceRPort = true
        return 1
    }

    static var addRPort: FunctionSpec {
        var f = forceRPort
        f.name = "add_rport"
        return f
    }

    /// The Via this server adds asks the next hop for `rport` (RFC 3581).
    static let addLocalRPort = FunctionSpec("add_local_rport", allowedRoutes: requestSide) { ctx, _ in
        ctx.message.edits.addLocalRPort = true
        return 1
    }

    /// `append_branch([uri[, q]])`: a target for tm's next t_relay beside the
    /// Request-URI (without a URI: the current Request-URI and `$du`). q is 0..1000 as in
    /// Kamailio's integer form, or a decimal such as "0.5".
    static let appendBranch = FunctionSpec("append_branch", args: [.string, .string], minArgs: 0,
                                           allowedRoutes: [.request, .failure]) { ctx, args in
        let m = ctx.message
        var branch = ScriptEdits.Branch(uri: m.requestURI, destinationURI: m.edits.destinationURI, q: nil)
        if args.count > 0 {
            let uri = args.string(0, &ctx)
            guard SIPURI.parse(uri) != nil else {
                m.process.log.error("core", "append_branch: '\(uri)' is not a SIP URI")
                return -1
            }
            branch = ScriptEdits.Branch(uri: uri, destinationURI: nil, q: nil)
        }
        if args.count > 1 {
            let text = args.string(1, &ctx)
            guard let q = parseQ(text) else {
                m.process.log.error("core", "append_branch: bad q value '\(text)'")
                return -1
            }
            branch.q = q
        }
        guard m.edits.branches.count < 12 else {
            m.process.log.error("core", "append_branch: no more than 12 branches")
            return -1
        }
        m.edits.branches.append(branch)
        return 1
    }

    /// q as thousandths: "500" or "0.5".
    static func parseQ(_ text: String) -> Int? {
        if let n = Int(text) { return (0...1000).contains(n) ? n : nil }
        guard let d = Double(text), (0...1).contains(d) else { return nil }
        return Int((d * 1000).rounded())
    }

    /// Requests relayed for this message go over a connection only when one to the
    /// destination exists already.
    static let setForwardNoConnect = FunctionSpec("set_forward_no_connect") { ctx, _ in
        ctx.message.replyConnection.forwardNoConnect = true
        return 1
    }
}

extension MessageContext {
    /// Whether a request may be relayed to `destination`: not over a new connection after
    /// `set_forward_no_connect()` (logged).
    func forwardMayConnect(_ destination: SIPPeer) -> Bool {
        guard replyConnection.forwardNoConnect, destination.transport.isReliable else { return true }
        if destination.connection != 0 { return true }
        if let tcp = process.tcp, !tcp.table.connections(to: destination.address).isEmpty { return true }
        process.log.notice("core", "request to \(destination) not sent: set_forward_no_connect() and no connection to reuse")
        return false
    }
}
