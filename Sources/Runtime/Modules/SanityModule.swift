import SIP
import Script

/// sanity: the checks Kamailio's sanity module makes on a request, with its check numbers,
/// replies and return values (`sanity_check([checks[, uri_checks]])`). A failed check sends
/// its reply statelessly (not to an ACK, not with `noreply`), then either ends the script
/// (`autodrop`, the default) or returns -1.
enum SanityModule {
    static var spec: ModuleSpec {
        var spec = specWithoutParamsCheck
        spec.checkParams = readParams
        return spec
    }

    private static var specWithoutParamsCheck: ModuleSpec {
        ModuleSpec(name: "sanity", params: [
            ModuleParamSpec("default_checks", .int, default: .int(SanityChecks.defaultChecks)),
            ModuleParamSpec("uri_checks", .int, default: .int(SanityChecks.defaultURIChecks)),
            ModuleParamSpec("proxy_require", .string, default: .string("")),
            ModuleParamSpec("autodrop", .int, default: .int(1)),
            ModuleParamSpec("noreply", .int, default: .int(0)),
        ], functions: [
            FunctionSpec("sanity_check", args: [.string, .string], minArgs: 0, allowedRoutes: [.request, .failure, .branch, .onreply, .reply],
                         fixup: checkNumbers) { ctx, args in
                let settings = ctx.message.process.program.settings.derived["sanity"] as? SanitySettings ?? SanitySettings()
                let checks = args.count > 0 ? Int(args.string(0, &ctx)) ?? 0 : settings.defaultChecks
                let uriChecks = args.count > 1 ? Int(args.string(1, &ctx)) ?? 0 : settings.uriChecks
                let message = ctx.message.message
                guard let failure = SanityChecks(message: message, proxyRequire: settings.proxyRequire).run(checks, uriChecks: uriChecks) else { return 1 }
                ctx.message.process.log.info("sanity", "\(message.method.name) from \(ctx.message.source): \(failure.log)")
                if let reply = failure.reply {
                    ctx.message.sanityReply = reply
                    if !settings.noReply {
                        _ = ctx.message.sendReply(reply.code, reply.reason, extraHeaders: reply.headers)
                    }
                }
                // autodrop: the message is done with (0 ends the script, as Kamailio's drop).
                return settings.autoDrop ? 0 : -1
            },
            // With `noreply`: sends the reply the last failed check prepared.
            FunctionSpec("sanity_reply", allowedRoutes: [.request, .failure]) { ctx, _ in
                guard let reply = ctx.message.sanityReply else { return -1 }
                return ctx.message.sendReply(reply.code, reply.reason, extraHeaders: reply.headers) ? 1 : -1
            },
        ])
    }

    /// The parameters, read once when the config loads (`ConfigSettings.derived["sanity"]`).
    static let readParams: @Sendable (inout ModuleParamsContext) -> Void = { context in
        var settings = SanitySettings()
        for entry in context.entries {
            let int = Int(entry.value.text)
            switch entry.param {
            case "default_checks": settings.defaultChecks = int ?? settings.defaultChecks
            case "uri_checks": settings.uriChecks = int ?? settings.uriChecks
            case "autodrop": settings.autoDrop = (int ?? 1) != 0
            case "noreply": settings.noReply = (int ?? 0) != 0
            case "proxy_require":
                settings.proxyRequire = entry.value.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            default: break
            }
        }
        context.derived = settings
    }

    static let checkNumbers: @Sendable (inout FixupContext) -> Void = { fc in
        for i in 0..<2 {
            if let s = fc.staticString(i), Int(s) == nil { fc.error("'\(s)' is not a number of sanity checks", argument: i) }
        }
    }
}

/// sanity's module parameters, with Kamailio's defaults.
struct SanitySettings: Sendable {
    var defaultChecks = SanityChecks.defaultChecks
    var uriChecks = SanityChecks.defaultURIChecks
    var proxyRequire: [String] = []
    var autoDrop = true
    var noReply = false
}

/// The checks, each with Kamailio's number, on one parsed request.
struct SanityChecks {
    let message: SIPMessage
    let proxyRequire: [String]

    /// ruri_sip_version, ruri_scheme, required_headers, cseq_method, cseq_value,
    /// content_length, expires_value, proxy_require, digest credentials.
    static let defaultChecks = 3047
    /// Request URI, From URI, To URI.
    static let defaultURIChecks = 7

    struct Reply: Equatable {
        var code: Int
        var reason: String
        var headers: [(name: String, value: String)] = []

        static func == (a: Reply, b: Reply) -> Bool {
            a.code == b.code && a.reason == b.reason && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
        }
    }

    struct Failure {
        /// What the log line says.
        var log: String
        /// Nil for the checks Kamailio fails without a reply.
        var reply: Reply?
    }

    /// The first check of `checks` that fails, in Kamailio's order (the order of their
    /// numbers); nil when all pass.
    func run(_ checks: Int, uriChecks: Int) -> Failure? {
        // On a reply, the checks of a request line and its method do not apply.
        let requestOnly = message.isRequest ? 0 : (1 | 2 | 32 | 512)
        let checks = checks & ~requestOnly
        let uriChecks = message.isRequest ? uriChecks : uriChecks & ~1
        // Parsed once for the two checks that look at it.
        let requestURI = message.isRequest && checks & (2 | 1024) != 0 ? message.requestURI : nil
        var bit = 1
        while bit <= Self.lastCheck {
            if checks & bit != 0, let failure = check(bit, uriChecks: uriChecks, requestURI: requestURI) { return failure }
            bit <<= 1
        }
        return nil
    }

    static let lastCheck = 16384

    /// Check number `bit` (8 and 16 are numbers Kamailio does not implement either).
    private func check(_ bit: Int, uriChecks: Int, requestURI: URIReference?) -> Failure? {
        switch bit {
        case 1: return rURIVersion()
        case 2: return requestURI.flatMap(rURIScheme)
        case 4: return requiredHeaders()
        case 32: return cseqMethod()
        case 64: return cseqValue()
        case 128: return contentLength()
        case 256: return expiresValue()
        case 512: return proxyRequireCheck()
        case 1024: return parseURIs(uriChecks, requestURI: requestURI)
        case 2048: return digest(strict: true)
        case 4096: return duplicateTags()
        case 8192: return digest(strict: false)
        case 16384: return firstVia()
        default: return nil
        }
    }

    private func fail(_ code: Int, _ reason: String, _ log: String? = nil) -> Failure {
        Failure(log: log ?? "\(code) \(reason)", reply: Reply(code: code, reason: reason))
    }

    func rURIVersion() -> Failure? {
        Self.equalsIgnoringCase(message.bytes[message.versionRange], "SIP/2.0") ? nil : fail(505, "Version Not Supported (R-URI)")
    }

    func rURIScheme(_ uri: URIReference) -> Failure? {
        switch uri {
        case .sip, .tel: return nil
        case .other:
            // Kamailio's URI parser refuses other schemes before its 416 is reached: 400.
            return fail(400, "Bad Request URI")
        }
    }

    /// The headers, and From and To well formed (Kamailio parses them here, and its
    /// replies say so, its spelling kept).
    func requiredHeaders() -> Failure? {
        for kind in [HeaderKind.to, .from, .cseq, .callID, .via] where !message.hasHeader(kind) {
            return fail(400, "Missing Required Header in Request", "no \(kind.canonicalName) header")
        }
        if !Self.parses(message.from.uri) { return fail(400, "Invalid From Header") }
        if !Self.parses(message.to.uri) { return fail(400, "Ivalid To Header") }
        return nil
    }

    func cseqMethod() -> Failure? {
        let method = message.bytes[message.cseq.methodRange]
        if method.isEmpty { return fail(400, "Missing method in CSeq header") }
        return method.elementsEqual(message.bytes[message.methodRange]) ? nil : fail(400, "CSeq method does not match request method")
    }

    func cseqValue() -> Failure? {
        guard let range = firstValueRange(.cseq) else { return fail(400, "Missing number in CSeq header") }
        let value = message.bytes[range]
        let start = value.drop(while: Self.isSpace)
        let number = start.prefix { !Self.isSpace($0) }
        if number.isEmpty { return fail(400, "Missing number in CSeq header") }
        return Self.isUnsigned32(number) ? nil : fail(400, "CSeq number is illegal")
    }

    func contentLength() -> Failure? {
        guard let length = message.contentLength else { return nil }
        // What came after the headers, not what the parser kept of it.
        return length == message.bytes.count - message.bodyRange.lowerBound ? nil : fail(400, "Content-Length mis-match")
    }

    func expiresValue() -> Failure? {
        guard let range = firstValueRange(.expires) else { return nil }
        let start = message.bytes[range].drop(while: Self.isSpace)
        let value = start[..<(start.lastIndex { !Self.isSpace($0) }.map { $0 + 1 } ?? start.startIndex)]
        if value.isEmpty { return fail(400, "Bad Expires Header") }
        return Self.isUnsigned32(value) ? nil : fail(400, "Expires value is illegal")
    }

    /// The value of the first field of `kind`, as it stands in the message (a folded line
    /// keeps its CRLF: `isSpace` treats it as the space unfolding would make it).
    private func firstValueRange(_ kind: HeaderKind) -> Range<Int>? {
        message.headers.first { $0.kind == kind }?.valueRange
    }

    func proxyRequireCheck() -> Failure? {
        for value in message.headerValues("Proxy-Require") {
            for token in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !token.isEmpty {
                if !proxyRequire.contains(token) {
                    return Failure(log: "unsupported extension \(token) in Proxy-Require",
                                   reply: Reply(code: 420, reason: "Bad Proxy Require Extension", headers: [(name: "Unsupported", value: token)]))
                }
            }
        }
        return nil
    }

    func parseURIs(_ which: Int, requestURI: URIReference?) -> Failure? {
        if which & 1 != 0, let uri = requestURI, !Self.parses(uri) { return fail(400, "Bad Request URI") }
        if which & 2 != 0, !Self.parses(message.from.uri) { return fail(400, "Bad From URI") }
        if which & 4 != 0, !Self.parses(message.to.uri) { return fail(400, "Bad To URI") }
        if which & 8 != 0, message.headerCount("Contact") > 0 {
            guard let contact = try? message.contact else { return fail(400, "Bad Contact Header") }
            if let first = contact.addresses.first, !Self.parses(first.uri) { return fail(400, "Bad Contact URI") }
        }
        return nil
    }

    /// Digest credentials in Authorization and Proxy-Authorization: username, nonce and
    /// response present and not empty. `strict` (check 2048) fails another scheme; check
    /// 8192 lets it pass. Kamailio sends no reply for these.
    func digest(strict: Bool) -> Failure? {
        for value in message.headerValues("Authorization") + message.headerValues("Proxy-Authorization") {
            guard let credentials = DigestParams(value) else {
                if strict { return Failure(log: "credentials are not digest", reply: nil) }
                continue
            }
            for name in ["username", "nonce", "response"] where (credentials.params[name] ?? "").isEmpty {
                return Failure(log: "digest credentials without \(name)", reply: nil)
            }
        }
        return nil
    }

    func duplicateTags() -> Failure? {
        for (name, addr) in [("From", message.from), ("To", message.to)] where addr.params.pairs.filter({ $0.name.lowercased() == "tag" }).count > 1 {
            return Failure(log: "\(name) has more than one tag", reply: nil)
        }
        return nil
    }

    func firstVia() -> Failure? {
        message.vias.isEmpty ? Failure(log: "no Via", reply: nil) : nil
    }

    static func parses(_ uri: URIReference) -> Bool {
        if case .other(let scheme, _) = uri, ["sip", "sips", "tel", "tels"].contains(scheme.lowercased()) || scheme.isEmpty {
            return false
        }
        return true
    }

    /// Kamailio 5.6.3's unsigned check: digits only, at most ten, compared with
    /// "4294967296" (which it lets through, one past the largest 32-bit value).
    static func isUnsigned32(_ digits: ArraySlice<UInt8>) -> Bool {
        guard !digits.isEmpty, digits.count <= 10 else { return false }
        var value: UInt64 = 0
        for b in digits {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return false }
            value = value * 10 + UInt64(b - UInt8(ascii: "0"))
        }
        return value <= UInt64(UInt32.max) + 1
    }

    /// Space, tab, and the CR and LF of a folded line.
    static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
    }

    /// `bytes` spell `text` (ASCII), letters in either case.
    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let lower = { (b: UInt8) -> UInt8 in b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b + 32 : b }
        return text.withUTF8Buffer { t in zip(bytes, t).allSatisfy { lower($0) == lower($1) } }
    }
}
