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
    /// a parameter is malformed or given twice, or username, realm, nonce, uri or response
    /// is missing (Kamailio answers these with -1). Works on the bytes: it runs for every
    /// authenticated request.
    public static func parse(_ value: String) -> DigestCredentials? {
        var value = value
        return value.withUTF8 { parse(bytes: $0) }
    }

    /// The parameters read, in the order of the `seen` bits (the first five are required).
    private static let knownNames: [[UInt8]] = ["username", "realm", "nonce", "uri", "response",
                                                "algorithm", "qop", "nc", "cnonce", "opaque"].map { Array($0.utf8) }

    private static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> DigestCredentials? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), comma = UInt8(ascii: ","), quote = UInt8(ascii: "\"")
        func isBlank(_ c: UInt8) -> Bool { c == space || c == tab }
        var i = 0
        while i < b.count, isBlank(b[i]) { i += 1 }
        let scheme = Array("digest".utf8)
        guard b.count - i > 6, (0..<6).allSatisfy({ b[i + $0] | 0x20 == scheme[$0] }), isBlank(b[i + 6]) else { return nil }
        i += 7
        var c = DigestCredentials()
        var seen: UInt16 = 0
        var seenOther: Set<[UInt8]> = []
        while true {
            while i < b.count, isBlank(b[i]) || b[i] == comma { i += 1 }
            if i == b.count { break }
            var eq = i
            while eq < b.count, b[eq] != UInt8(ascii: "=") { eq += 1 }
            guard eq < b.count else { return nil }
            var nameEnd = eq
            while nameEnd > i, isBlank(b[nameEnd - 1]) { nameEnd -= 1 }
            let name = b[i..<nameEnd].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            guard !name.isEmpty, !name.contains(where: { $0 == space || $0 == tab || $0 == comma || $0 == quote }) else { return nil }
            i = eq + 1
            while i < b.count, isBlank(b[i]) { i += 1 }
            var text: [UInt8] = []
            if i < b.count, b[i] == quote {
                i += 1
                var closed = false
                while i < b.count {
                    if b[i] == UInt8(ascii: "\\") {
                        i += 1
                        guard i < b.count else { return nil }
                        text.append(b[i])
                    } else if b[i] == quote {
                        closed = true
                        i += 1
                        break
                    } else {
                        text.append(b[i])
                    }
                    i += 1
                }
                guard closed else { return nil }
            } else {
                var end = i
                while end < b.count, b[end] != comma { end += 1 }
                var last = end
                while last > i, isBlank(b[last - 1]) { last -= 1 }
                text = Array(b[i..<last])
                i = end
            }
            let string = String(decoding: text, as: UTF8.self)
            guard let known = knownNames.firstIndex(of: name) else {
                guard seenOther.insert(name).inserted else { return nil }
                continue
            }
            guard seen & (1 << known) == 0 else { return nil }
            seen |= 1 << known
            switch known {
            case 0: c.username = string
            case 1: c.realm = string
            case 2: c.nonce = string
            case 3: c.uri = string
            case 4: c.response = string
            case 5: c.algorithm = string
            case 6: c.qop = string
            case 7: c.nc = string
            case 8: c.cnonce = string
            default: c.opaque = string
            }
        }
        guard seen & 0b11111 == 0b11111 else { return nil }
        return c
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
