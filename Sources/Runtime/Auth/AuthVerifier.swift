import SIP
import Script
import Shared

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's return codes of the authentication functions (README of auth and auth_db).
public enum AuthResult: Int, Sendable {
    case authenticated = 1
    /// Bad credentials, an invalid nonce, a database failure.
    case error = -1
    case invalidPassword = -2
    case invalidUser = -3
    /// The nonce expired, or its nc was replayed or is out of range.
    case nonceExpired = -4
    case noCredentials = -5
    case nonceReused = -6
    case userMismatch = -8
}

/// The credentials a function authorized in this message, for consume_credentials.
struct AuthorizedCredentials {
    var header: CredentialsHeader
    var lineRange: Range<Int>
}

/// Where the expected HA1 comes from: a database row (auth_db) or a script value (pv_*).
enum HA1Source {
    case value(String)
    /// Not found: the user does not exist (-3); failure: the lookup failed (-1).
    case unknownUser
    case failure
}

/// One digest check, in Kamailio's order: credentials for the realm (-5 / -1), the nonce
/// (-1 not ours, -4 stale), the user's HA1 (-3, -1), the response (-2), then the nonce
/// count when the response carries qop and nonce_count is on (-4 replayed). Respite checks
/// the nc after the response, so a client without the password cannot use up a nonce's
/// counts.
struct AuthVerifier {
    let settings: AuthSettings
    let message: MessageContext

    /// The codec of this process (the secret, the nc table).
    static func codec(_ m: MessageContext, _ settings: AuthSettings) -> NonceCodec? {
        let codec = NonceCodec(settings: settings, table: m.process.arena.nonceCounts)
        if codec == nil { m.process.log.error("auth", "no nonce secret: the auth section is missing from the arena") }
        return codec
    }

    /// Authenticates `header`'s credentials for `realm`. `ha1` is asked once the nonce is
    /// good, with the parsed credentials; `method` overrides the request's.
    func verify(
        realm rawRealm: String, header: CredentialsHeader, method: String? = nil,
        ha1: (DigestCredentials) -> HA1Source
    ) -> (AuthResult, DigestCredentials?) {
        let realm = settings.strip(rawRealm.isEmpty ? Self.defaultRealm(message.message) : rawRealm)
        let c: DigestCredentials, field: HeaderField
        switch CredentialsLookup.find(header, realm: realm, in: message.message) {
        case .none: return (.noCredentials, nil)
        case .malformed: return (.error, nil)
        case .found(let creds, let f): (c, field) = (creds, f)
        }
        if let alg = c.algorithm, DigestAlgorithm(param: alg) != settings.algorithm { return (.error, c) }
        guard let codec = Self.codec(message, settings) else { return (.error, c) }
        let now = Int(time(nil))
        let id: UInt64
        switch codec.check(c.nonce, now: now, expire: settings.nonceExpire, maxDrift: settings.maxDrift) {
        case .invalid: return (.error, c)
        case .stale: return (.nonceExpired, c)
        case .valid(let i): id = i
        }
        let expected: String
        switch ha1(c) {
        case .unknownUser: return (.invalidUser, c)
        case .failure: return (.error, c)
        case .value(let v): expected = v.lowercased()
        }
        guard let computed = response(c, ha1: expected, method: method) else { return (.error, c) }
        guard DigestHash.constantTimeEqual(computed, c.response.lowercased()) else { return (.invalidPassword, c) }
        if settings.nonceCount, c.qop != nil, let table = codec.table {
            guard let nc = c.ncValue else { return (.error, c) }
            if table.check(id: id, nc: nc) != .accepted { return (.nonceExpired, c) }
        }
        message.authorized = AuthorizedCredentials(header: header, lineRange: field.lineRange)
        return (.authenticated, c)
    }

    /// The response the credentials should carry; nil when their qop is unknown or lacks
    /// nc or cnonce.
    private func response(_ c: DigestCredentials, ha1: String, method: String?) -> String? {
        let alg = settings.algorithm
        let methodName = method ?? message.message.method.name
        guard let qop = c.qop else {
            return DigestHash.response(
                alg, ha1: ha1, nonce: c.nonce, method: methodName, uri: c.uri, qop: nil, nc: nil, cnonce: nil)
        }
        guard let nc = c.nc, let cnonce = c.cnonce else { return nil }
        switch qop.lowercased() {
        case "auth":
            return DigestHash.response(
                alg, ha1: ha1, nonce: c.nonce, method: methodName, uri: c.uri, qop: qop, nc: nc, cnonce: cnonce)
        case "auth-int":
            let body = String(decoding: message.message.bytes[message.message.bodyRange], as: UTF8.self)
            let ha2 = alg.hex("\(methodName):\(c.uri):\(alg.hex(body))")
            return alg.hex("\(ha1):\(c.nonce):\(nc):\(cnonce):\(qop):\(ha2)")
        default:
            return nil
        }
    }

    /// The realm of a function given "": the To host for a REGISTER, else the From host.
    static func defaultRealm(_ m: SIPMessage) -> String {
        (m.method == .register ? m.to.uri.sipURI?.host : m.from.uri.sipURI?.host) ?? ""
    }

    /// auth_check's flag 1, as Kamailio 5.6.3 was seen to check it: the authenticated user
    /// must be the From user; for REGISTER and PUBLISH the To URI must be the From URI, for
    /// PUBLISH the Request-URI too. With `useDomain` the hosts are compared as well; neither
    /// the realm nor a username's `@domain` is compared with them. With flag 2 too, INVITE, BYE, PRACK, UPDATE and MESSAGE are not checked
    /// (anonymous callers).
    static func userMatches(_ c: DigestCredentials, flags: Int, useDomain: Bool, _ m: MessageContext) -> Bool {
        guard flags & 1 != 0 else { return true }
        let method = m.message.method
        if flags & 2 != 0, [.invite, .bye, .prack, .update, .message].contains(method) { return true }
        guard let from = m.message.from.uri.sipURI else { return false }
        func same(_ uri: SIPURI?) -> Bool {
            guard let uri, (uri.user ?? "") == (from.user ?? "") else { return false }
            return !useDomain || uri.host.lowercased() == from.host.lowercased()
        }
        if method == .register || method == .publish, !same(m.message.to.uri.sipURI) { return false }
        if method == .publish, !same(SIPURI.parse(m.requestURI)) { return false }
        return (from.user ?? "") == c.user
    }
}
