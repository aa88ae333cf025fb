import SIP

/// The digest credentials of one Authorization or Proxy-Authorization header (RFC 2617
/// 3.2.2, RFC 7616 3.4), as sent.
public struct DigestCredentials: Equatable, Sendable {
    /// The username parameter as sent (it may hold `user@domain`).
    public var username = ""
    public var realm = ""
    public var nonce = ""
    public var uri = ""
    public var response = ""
    public var algorithm: String?
    public var qop: String?
    /// Eight hex digits, as sent.
    public var nc: String?
    public var cnonce: String?
    public var opaque: String?

    /// The username before any `@` (Kamailio's `$au`).
    public var user: Substring { username.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)[0] }
    /// The part after `@`, or "" (Kamailio's `$ad`).
    public var domain: Substring {
        guard let at = username.firstIndex(of: "@") else { return "" }
        return username[username.index(after: at)...]
    }

    /// The nc as a number; nil when it is not eight hex digits or less.
    public var ncValue: Int? {
        guard let nc, !nc.isEmpty, nc.count <= 8 else { return nil }
        return Int(nc, radix: 16)
    }

    /// Parses a header value `Digest name=value, ...`. Nil when the scheme is not Digest,
    /// a parameter is malformed, or username, realm, nonce, uri or response is missing
    /// (Kamailio answers these with -1).
    public static func parse(_ value: String) -> DigestCredentials? {
        var s = Substring(value)
        s = s.drop { $0 == " " || $0 == "\t" }
        guard s.count > 6, s.prefix(6).lowercased() == "digest",
            s.dropFirst(6).first.map({ $0 == " " || $0 == "\t" }) == true
        else { return nil }
        s = s.dropFirst(7)
        var c = DigestCredentials()
        var seen = Set<String>()
        while true {
            s = s.drop { $0 == " " || $0 == "\t" || $0 == "," }
            if s.isEmpty { break }
            guard let eq = s.firstIndex(of: "=") else { return nil }
            let name = s[..<eq].trimmingSpaces.lowercased()
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "," || $0 == "\"" }) else { return nil }
            s = s[s.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            let text: String
            if s.first == "\"" {
                guard let (quoted, rest) = quotedString(s) else { return nil }
                text = quoted
                s = rest
            } else {
                let end = s.firstIndex(of: ",") ?? s.endIndex
                text = String(s[..<end].trimmingSpaces)
                s = s[end...]
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "username": c.username = text
            case "realm": c.realm = text
            case "nonce": c.nonce = text
            case "uri": c.uri = text
            case "response": c.response = text
            case "algorithm": c.algorithm = text
            case "qop": c.qop = text
            case "nc": c.nc = text
            case "cnonce": c.cnonce = text
            case "opaque": c.opaque = text
            default: break
            }
        }
        guard seen.isSuperset(of: ["username", "realm", "nonce", "uri", "response"]) else { return nil }
        return c
    }

    /// A quoted string at the start of `s` (RFC 3261 25.1: `\` escapes one character).
    private static func quotedString(_ s: Substring) -> (String, Substring)? {
        var out = ""
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            let ch = s[i]
            if ch == "\\" {
                i = s.index(after: i)
                guard i < s.endIndex else { return nil }
                out.append(s[i])
            } else if ch == "\"" {
                return (out, s[s.index(after: i)...])
            } else {
                out.append(ch)
            }
            i = s.index(after: i)
        }
        return nil
    }
}

/// The credentials header a function reads: Authorization for a REGISTER (www_*), else
/// Proxy-Authorization.
public enum CredentialsHeader: String, Sendable {
    case authorization = "Authorization"
    case proxyAuthorization = "Proxy-Authorization"

    /// What a challenge of this kind answers: the status, its reason and header name.
    var challenge: (code: Int, reason: String, header: String) {
        switch self {
        case .authorization: (401, "Unauthorized", "WWW-Authenticate")
        case .proxyAuthorization: (407, "Proxy Authentication Required", "Proxy-Authenticate")
        }
    }

    /// auth_check and auth_challenge: Authorization for REGISTER, Proxy-Authorization else.
    static func forMethod(_ message: SIPMessage) -> CredentialsHeader {
        message.method == .register ? .authorization : .proxyAuthorization
    }
}

/// The credentials a message holds for a realm, found as Kamailio's functions find them.
enum CredentialsLookup: Equatable {
    /// A header with that realm, parsed, and the field it is in (for consume_credentials).
    case found(DigestCredentials, HeaderField)
    /// No header of that kind, or none for that realm.
    case none
    /// A header of that kind that does not parse.
    case malformed

    static func == (a: CredentialsLookup, b: CredentialsLookup) -> Bool {
        switch (a, b) {
        case (.found(let x, let f), .found(let y, let g)): x == y && f.lineRange == g.lineRange
        case (.none, .none), (.malformed, .malformed): true
        default: false
        }
    }

    /// The first header of `kind` whose realm is `realm`. A header that does not parse is
    /// `.malformed` unless a later one matches.
    static func find(_ kind: CredentialsHeader, realm: String, in message: SIPMessage) -> CredentialsLookup {
        var sawMalformed = false
        for field in message.fields(named: kind.rawValue) {
            guard let c = DigestCredentials.parse(message.value(of: field)) else {
                sawMalformed = true
                continue
            }
            if c.realm == realm { return .found(c, field) }
        }
        return sawMalformed ? .malformed : .none
    }
}
