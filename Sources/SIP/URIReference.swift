/// Any URI found in a message: `sip:`/`sips:` and `tel:` parsed, other schemes kept as text
/// (RFC 4475 unkscm, novelsc, unksm2 carry such URIs and must still be processed).
public enum URIReference: Sendable {
    case sip(SIPURI)
    case tel(TelURI)
    /// A URI of another scheme, or a sip/tel URI that did not parse.
    case other(scheme: String, text: String)

    init(base: [UInt8], range: Range<Int>) {
        let parsed: URIReference? = base.withUnsafeBufferPointer { p in
            guard let colon = URIReference.schemeEnd(p, range) else { return nil }
            let scheme = range.lowerBound..<colon
            if p.equalsLower(scheme, "sip") || p.equalsLower(scheme, "sips") {
                return SIPURI.parse(base, p, range).map { .sip($0) }
            }
            if p.equalsLower(scheme, "tel") {
                return TelURI.parse(base, p, range).map { .tel($0) }
            }
            return nil
        }
        if let parsed {
            self = parsed
        } else {
            let text = String(decoding: base[range], as: UTF8.self)
            let scheme = text.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            self = .other(scheme: scheme, text: text)
        }
    }

    /// Parses `text` as a URI of any scheme.
    public init(_ text: String) {
        let bytes = Array(text.utf8)
        self.init(base: bytes, range: 0..<bytes.count)
    }

    /// The scheme, lower-cased for sip/sips/tel.
    public var scheme: String {
        switch self {
        case .sip(let u): u.isSecure ? "sips" : "sip"
        case .tel: "tel"
        case .other(let s, _): s
        }
    }

    public var sipURI: SIPURI? {
        if case .sip(let u) = self { return u }
        return nil
    }

    /// Index of the `:` ending a valid scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`)
    /// at the start of `r`, or nil.
    static func schemeEnd(_ p: Bytes, _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        guard i < r.upperBound, ASCII.isAlpha(p[i]) else { return nil }
        i &+= 1
        while i < r.upperBound {
            let b = p[i]
            if b == ASCII.colon { return i }
            guard ASCII.isAlpha(b) || ASCII.isDigit(b) || b == 43 || b == 45 || b == 46 else { return nil }
            i &+= 1
        }
        return nil
    }
}

/// A `tel:` URI (RFC 3966), minimally: the number and its parameters.
public struct TelURI: Sendable {
    let base: [UInt8]
    public let numberRange: Range<Int>
    public let params: ParamList

    /// The subscriber number as written (`+1-212-555-0101`).
    public var number: String { String(decoding: base[numberRange], as: UTF8.self) }

    /// Parses `text` as a tel URI.
    public static func parse(_ text: String) -> TelURI? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { parse(bytes, $0, 0..<bytes.count) }
    }

    static func parse(_ base: [UInt8], _ p: Bytes, _ r: Range<Int>) -> TelURI? {
        guard let colon = URIReference.schemeEnd(p, r) else { return nil }
        let s = colon &+ 1
        let semi = p.firstIndex(of: ASCII.semicolon, in: s..<r.upperBound) ?? r.upperBound
        guard semi > s else { return nil }
        var entries: [ParamList.Entry] = []
        guard SIPURI.parseURIParams(p, semi, r.upperBound, into: &entries) == r.upperBound else { return nil }
        return TelURI(base: base, numberRange: s..<semi, params: ParamList(base: base, entries: entries))
    }
}
