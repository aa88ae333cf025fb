import SIP
import Script
import Shared

#if canImport(Glibc)
    import Glibc
#endif

/// auth: digest challenges and checks (RFC 2617/7616) with nonces signed by a secret
/// every process shares and nonce counts kept in the arena (NonceCountTable). auth_db
/// (AuthDBModule) checks credentials against a subscriber table through it.
enum AuthModule {
    static var spec: ModuleSpec {
        let request: RouteTypeSet = [.request]
        return ModuleSpec(
            name: AuthSettings.module, params: AuthSettings.params,
            functions: [
                FunctionSpec("auth_challenge", args: [.string, .int], allowedRoutes: request, fixup: fixupSettings) {
                    ctx, args in
                    challenge(&ctx, args, kind: CredentialsHeader.forMethod(ctx.message.message))
                },
                FunctionSpec("www_challenge", args: [.string, .int], allowedRoutes: request, fixup: fixupSettings) {
                    ctx, args in
                    challenge(&ctx, args, kind: .authorization)
                },
                FunctionSpec("proxy_challenge", args: [.string, .int], allowedRoutes: request, fixup: fixupSettings) {
                    ctx, args in
                    challenge(&ctx, args, kind: .proxyAuthorization)
                },
                FunctionSpec("consume_credentials", allowedRoutes: request) { ctx, _ in
                    let m = ctx.message
                    guard let a = m.authorized else {
                        m.process.log.error(
                            "auth", "consume_credentials: no credentials were authorized in this message")
                        return -1
                    }
                    m.edits.splices.append(ScriptEdits.Splice(range: a.lineRange, text: ""))
                    m.authorized = nil
                    return 1
                },
                FunctionSpec("has_credentials", args: [.string], allowedRoutes: request) { ctx, args in
                    let realm = args.string(0, &ctx)
                    let m = ctx.message.message
                    for kind in [CredentialsHeader.authorization, .proxyAuthorization] {
                        if case .found = CredentialsLookup.find(kind, realm: realm, in: m) { return 1 }
                    }
                    return -1
                },
                FunctionSpec(
                    "pv_www_authenticate", args: [.string, .string, .int, .string], minArgs: 3, allowedRoutes: request,
                    fixup: fixupSettings
                ) { ctx, args in
                    pvAuthenticate(
                        &ctx, args, kind: .authorization, method: args.count > 3 ? args.string(3, &ctx) : nil)
                },
                FunctionSpec(
                    "pv_proxy_authenticate", args: [.string, .string, .int], allowedRoutes: request,
                    fixup: fixupSettings
                ) { ctx, args in
                    pvAuthenticate(&ctx, args, kind: .proxyAuthorization, method: nil)
                },
                FunctionSpec(
                    "pv_auth_check", args: [.string, .string, .int, .int], allowedRoutes: request, fixup: fixupSettings
                ) { ctx, args in
                    let kind = CredentialsHeader.forMethod(ctx.message.message)
                    let r = pvAuthenticate(&ctx, args, kind: kind, method: nil)
                    guard r == AuthResult.authenticated.rawValue, let c = ctx.message.authorizedCredentials(kind) else {
                        return r
                    }
                    let useDomain =
                        (ctx.message.process.program.settings.modparamInt(AuthSettings.module, "use_domain") ?? 0) != 0
                    return AuthVerifier.userMatches(c, flags: args.int(3, &ctx) ?? 0, useDomain: useDomain, ctx.message)
                        ? r : AuthResult.userMismatch.rawValue
                },
            ], checkParams: AuthSettings.check)
    }

    /// Every function's payload: the module's settings, read once at load.
    static let fixupSettings: @Sendable (inout FixupContext) -> Void = { fc in
        fc.payload = AuthSettings(fc.settings)
    }

    static func settings(_ args: CallArgs) -> AuthSettings {
        args.payload as? AuthSettings ?? AuthSettings(ConfigSettings())
    }

    /// The value of a WWW-Authenticate / Proxy-Authenticate header: a fresh nonce, qop by
    /// flags 1 (auth) and 2 (auth-int), stale=true by flag 16, and the algorithm when the
    /// `algorithm` param names one (the order Kamailio 5.6.3 writes them in).
    static func challengeValue(realm: String, flags: Int, settings: AuthSettings, codec: NonceCodec) -> String {
        let nonce = codec.issue(now: Int(time(nil)), expire: settings.nonceExpire)
        var v = "Digest realm=\"\(realm)\", nonce=\"\(nonce)\""
        switch flags & 3 {
        case 1: v += ", qop=\"auth\""
        case 2: v += ", qop=\"auth-int\""
        case 3: v += ", qop=\"auth,auth-int\""
        default: break
        }
        if flags & 16 != 0 { v += ", stale=true" }
        if settings.algorithmNamed { v += ", algorithm=\(settings.algorithm.rawValue)" }
        return v
    }

    /// www_challenge / proxy_challenge / auth_challenge: sends the 401 or 407 (through the
    /// transaction when the request has one, unless force_stateless_reply). On failure a
    /// 500 goes out unless flag 4 is set.
    static func challenge(_ ctx: inout ExecContext, _ args: CallArgs, kind: CredentialsHeader) -> Int {
        let m = ctx.message
        let s = settings(args)
        let flags = args.int(1, &ctx)
        var realm = args.string(0, &ctx)
        if realm.isEmpty { realm = AuthVerifier.defaultRealm(m.message) }
        realm = s.strip(realm)
        guard let flags, let codec = AuthVerifier.codec(m, s), !realm.isEmpty else {
            m.process.log.error("auth", "cannot build a challenge (realm '\(realm)', flags '\(args.string(1, &ctx))')")
            if (flags ?? 0) & 4 == 0 { send(m, 500, "Internal Server Error", [], stateless: s.forceStatelessReply) }
            return -1
        }
        let (code, reason, header) = kind.challenge
        let value = challengeValue(realm: realm, flags: flags, settings: s, codec: codec)
        return send(m, code, reason, [(name: header, value: value)], stateless: s.forceStatelessReply) ? 1 : -1
    }

    @discardableResult
    static func send(
        _ m: MessageContext, _ code: Int, _ reason: String, _ headers: [(name: String, value: String)], stateless: Bool
    ) -> Bool {
        if !stateless, let tx = m.transaction { return m.sendStatefulReply(tx, code, reason, extraHeaders: headers) }
        return m.sendReply(code, reason, extraHeaders: headers)
    }

    /// pv_www_authenticate / pv_proxy_authenticate: the password (or HA1 with flag 1) is a
    /// script value. The flags that build a challenge into an AVP (2, 4, 8, 16) are not
    /// available in Respite: call www_challenge / proxy_challenge.
    static func pvAuthenticate(_ ctx: inout ExecContext, _ args: CallArgs, kind: CredentialsHeader, method: String?)
        -> Int
    {
        let s = settings(args)
        let realm = args.string(0, &ctx)
        let password = args.string(1, &ctx)
        let flags = args.int(2, &ctx) ?? 0
        let verifier = AuthVerifier(settings: s, message: ctx.message)
        let (result, _) = verifier.verify(realm: realm, header: kind, method: method) { c in
            flags & 1 != 0
                ? .value(password)
                : .value(DigestHash.ha1(s.algorithm, user: c.username, realm: c.realm, password: password))
        }
        return result.rawValue
    }
}

extension MessageContext {
    /// The credentials a function authorized in this message, parsed again (nil when none
    /// of `kind` were authorized).
    func authorizedCredentials(_ kind: CredentialsHeader) -> DigestCredentials? {
        guard let a = authorized, a.header == kind,
            let field = message.fields(named: kind.rawValue).first(where: { $0.lineRange == a.lineRange })
        else { return nil }
        return DigestCredentials.parse(message.value(of: field))
    }
}
