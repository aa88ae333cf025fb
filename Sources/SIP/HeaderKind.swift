/// The header fields this target knows by name, with their RFC 3261 7.3.3 compact forms.
/// Everything else is `.other`; look those up by name through `SIPMessage.headerValues`.
public enum HeaderKind: UInt8, Sendable, CaseIterable {
    case other
    case via, from, to, callID, cseq, contentLength, maxForwards
    case contact, route, recordRoute, contentType, contentEncoding
    case subject, supported, require, proxyRequire, unsupported, allow, allowEvents
    case event, referTo, expires, authorization, proxyAuthorization
    case wwwAuthenticate, proxyAuthenticate, userAgent, server, accept
    case timestamp, date, minExpires, retryAfter, path, warning

    /// The canonical spelling, used when this target writes the header.
    public var canonicalName: String {
        switch self {
        case .other: ""
        case .via: "Via"
        case .from: "From"
        case .to: "To"
        case .callID: "Call-ID"
        case .cseq: "CSeq"
        case .contentLength: "Content-Length"
        case .maxForwards: "Max-Forwards"
        case .contact: "Contact"
        case .route: "Route"
        case .recordRoute: "Record-Route"
        case .contentType: "Content-Type"
        case .contentEncoding: "Content-Encoding"
        case .subject: "Subject"
        case .supported: "Supported"
        case .require: "Require"
        case .proxyRequire: "Proxy-Require"
        case .unsupported: "Unsupported"
        case .allow: "Allow"
        case .allowEvents: "Allow-Events"
        case .event: "Event"
        case .referTo: "Refer-To"
        case .expires: "Expires"
        case .authorization: "Authorization"
        case .proxyAuthorization: "Proxy-Authorization"
        case .wwwAuthenticate: "WWW-Authenticate"
        case .proxyAuthenticate: "Proxy-Authenticate"
        case .userAgent: "User-Agent"
        case .server: "Server"
        case .accept: "Accept"
        case .timestamp: "Timestamp"
        case .date: "Date"
        case .minExpires: "Min-Expires"
        case .retryAfter: "Retry-After"
        case .path: "Path"
        case .warning: "Warning"
        }
    }

    /// Identifies a header name (`"call-id"`, `"i"`, `"CALL-ID"` all give `.callID`).
    public init(name: String) {
        var name = name
        self = name.withUTF8 { HeaderKind.identify($0, 0..<$0.count) }
    }

    /// Header fields whose value may be a comma-separated list (RFC 3261 7.3.1).
    /// Authorization-style headers use commas inside one value, so they are not here.
    public var isList: Bool {
        switch self {
        case .via, .contact, .route, .recordRoute, .supported, .require, .proxyRequire,
             .unsupported, .allow, .allowEvents, .accept, .path, .warning, .contentEncoding:
            true
        default: false
        }
    }

    // Dispatch on length first, then compare: one or two compares per known name.
    static func identify(_ p: Bytes, _ r: Range<Int>) -> HeaderKind {
        let n = r.count
        guard n > 0 else { return .other }
        if n == 1 {
            switch ASCII.lower(p[r.lowerBound]) {
            case 118: return .via // v
            case 102: return .from // f
            case 116: return .to // t
            case 105: return .callID // i
            case 108: return .contentLength // l
            case 109: return .contact // m
            case 99: return .contentType // c
            case 101: return .contentEncoding // e
            case 115: return .subject // s
            case 107: return .supported // k
            case 111: return .event // o
            case 114: return .referTo // r
            case 117: return .allowEvents // u
            default: return .other
            }
        }
        switch n {
        case 2: if p.equalsLower(r, "to") { return .to }
        case 3: if p.equalsLower(r, "via") { return .via }
        case 4:
            if p.equalsLower(r, "from") { return .from }
            if p.equalsLower(r, "cseq") { return .cseq }
            if p.equalsLower(r, "date") { return .date }
            if p.equalsLower(r, "path") { return .path }
        case 5:
            if p.equalsLower(r, "route") { return .route }
            if p.equalsLower(r, "allow") { return .allow }
            if p.equalsLower(r, "event") { return .event }
        case 6:
            if p.equalsLower(r, "server") { return .server }
            if p.equalsLower(r, "accept") { return .accept }
        case 7:
            if p.equalsLower(r, "call-id") { return .callID }
            if p.equalsLower(r, "contact") { return .contact }
            if p.equalsLower(r, "subject") { return .subject }
            if p.equalsLower(r, "require") { return .require }
            if p.equalsLower(r, "expires") { return .expires }
            if p.equalsLower(r, "warning") { return .warning }
        case 8: if p.equalsLower(r, "refer-to") { return .referTo }
        case 9:
            if p.equalsLower(r, "supported") { return .supported }
            if p.equalsLower(r, "timestamp") { return .timestamp }
        case 10: if p.equalsLower(r, "user-agent") { return .userAgent }
        case 11:
            if p.equalsLower(r, "unsupported") { return .unsupported }
            if p.equalsLower(r, "min-expires") { return .minExpires }
            if p.equalsLower(r, "retry-after") { return .retryAfter }
        case 12:
            if p.equalsLower(r, "max-forwards") { return .maxForwards }
            if p.equalsLower(r, "record-route") { return .recordRoute }
            if p.equalsLower(r, "content-type") { return .contentType }
            if p.equalsLower(r, "allow-events") { return .allowEvents }
        case 13:
            if p.equalsLower(r, "proxy-require") { return .proxyRequire }
            if p.equalsLower(r, "authorization") { return .authorization }
        case 14: if p.equalsLower(r, "content-length") { return .contentLength }
        case 16:
            if p.equalsLower(r, "content-encoding") { return .contentEncoding }
            if p.equalsLower(r, "www-authenticate") { return .wwwAuthenticate }
        case 18: if p.equalsLower(r, "proxy-authenticate") { return .proxyAuthenticate }
        case 19: if p.equalsLower(r, "proxy-authorization") { return .proxyAuthorization }
        default: break
        }
        return .other
    }
}
