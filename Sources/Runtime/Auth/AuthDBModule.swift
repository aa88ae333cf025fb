import Database
import SIP
import Script

/// auth_db: digest checks against a subscriber table (Kamailio 5.6's `subscriber`, version
/// 7) through the database layer: one parameterised SELECT per check, the username and
/// domain as parameters; table and column names are checked identifiers.
enum AuthDBModule {
    /// What each function's fixup prepares: both modules' settings and the static table.
    struct Payload: Sendable {
        var auth: AuthSettings
        var db: AuthDBSettings
    }

    static var spec: ModuleSpec {
        let request: RouteTypeSet = [.request]
        let realmTable: [ArgKind] = [.string, .string]
        return ModuleSpec(
            name: AuthDBSettings.module, params: AuthDBSettings.params,
            functions: [
                FunctionSpec("www_authorize", args: realmTable, allowedRoutes: request, fixup: fixup) { ctx, args in
                    authorize(&ctx, args, kind: .authorization, method: nil).result.rawValue
                },
                FunctionSpec(
                    "www_authenticate", args: realmTable + [.string], minArgs: 2, allowedRoutes: request, fixup: fixup
                ) { ctx, args in
                    authorize(&ctx, args, kind: .authorization, method: args.count > 2 ? args.string(2, &ctx) : nil)
                        .result.rawValue
                },
                FunctionSpec("proxy_authorize", args: realmTable, allowedRoutes: request, fixup: fixup) { ctx, args in
                    authorize(&ctx, args, kind: .proxyAuthorization, method: nil).result.rawValue
                },
                FunctionSpec("proxy_authenticate", args: realmTable, allowedRoutes: request, fixup: fixup) {
                    ctx, args in
                    authorize(&ctx, args, kind: .proxyAuthorization, method: nil).result.rawValue
                },
                FunctionSpec("auth_check", args: realmTable + [.int], allowedRoutes: request, fixup: fixup) {
                    ctx, args in
                    let kind = CredentialsHeader.forMethod(ctx.message.message)
                    let (result, _, c) = authorize(&ctx, args, kind: kind, method: nil)
                    guard result == .authenticated, let c else { return result.rawValue }
                    let flags = args.int(2, &ctx) ?? 0
                    let useDomain = payload(args).db.useDomain
                    return AuthVerifier.userMatches(c, flags: flags, useDomain: useDomain, ctx.message)
                        ? result.rawValue : AuthResult.userMismatch.rawValue
                },
            ], checkParams: { context in context.derived = AuthDBSettings(context.settings) })
    }

    static let fixup: @Sendable (inout FixupContext) -> Void = { fc in
        if !fc.settings.modules.contains(AuthSettings.module) {
            fc.error("\(fc.functionName) needs the auth module: loadmodule \"auth.so\"")
        }
        if fc.settings.modparam(AuthDBSettings.module, "db_url") == nil {
            fc.error("\(fc.functionName) needs modparam(\"auth_db\", \"db_url\", ...) (sqlite:// or postgres://)")
        }
        if let table = fc.staticString(1), !AuthDBSettings.isIdentifier(table) {
            fc.error("'\(table)' is not a table name (letters, digits, _ and . only)", argument: 1)
        }
        fc.payload = Payload(auth: AuthSettings(fc.settings), db: AuthDBSettings(fc.settings))
    }

    static func payload(_ args: CallArgs) -> Payload {
        args.payload as? Payload ?? Payload(auth: AuthSettings(ConfigSettings()), db: AuthDBSettings(ConfigSettings()))
    }

    /// The check shared by every function: the realm as used (prefix stripped), the result
    /// and the credentials checked.
    static func authorize(_ ctx: inout ExecContext, _ args: CallArgs, kind: CredentialsHeader, method: String?)
        -> (result: AuthResult, realm: String, credentials: DigestCredentials?)
    {
        let p = payload(args)
        let m = ctx.message
        var realm = args.string(0, &ctx)
        if realm.isEmpty { realm = AuthVerifier.defaultRealm(m.message) }
        realm = p.auth.strip(realm)
        let table = args.string(1, &ctx)
        guard AuthDBSettings.isIdentifier(table) else {
            m.process.log.error("auth_db", "'\(table)' is not a table name")
            return (.error, realm, nil)
        }
        guard let url = p.db.url, let db = m.process.databases.connection(url) else {
            m.process.log.error("auth_db", "no database connection for \(p.db.url ?? "(no db_url)")")
            return (.error, realm, nil)
        }
        let query = SubscriberQuery(settings: p.db, table: table)
        var row: SubscriberQuery.Row?
        let verifier = AuthVerifier(settings: p.auth, message: m)
        let (result, c) = verifier.verify(realm: realm, header: kind, method: method) { c in
            switch query.fetch(db, credentials: c, realm: realm) {
            case .failure(let e):
                m.process.log.error("auth_db", "cannot read \(table) for '\(c.user)': \(e.message)")
                return .failure
            case .success(nil):
                return .unknownUser
            case .success(let found?):
                row = found
                return .value(found.ha1(p.auth.algorithm, credentials: c))
            }
        }
        if let row, result == .authenticated || p.db.forceGenerateAVPs {
            for (avp, value) in row.loaded { m.edits.avps[avp, default: []].insert(value, at: 0) }
        }
        return (result, realm, c)
    }
}
