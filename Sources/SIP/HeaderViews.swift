/// The CSeq header (RFC 3261 20.16): sequence number and method.
public struct CSeq: Sendable, Equatable {
    /// The sequence number, below 2**31 as RFC 3261 8.1.1.5 requires.
    public let number: UInt32
    public let method: SIPMethod
    /// The method token's range in the message.
    public let methodRange: Range<Int>

    static func parse(_ p: Bytes, _ r: Range<Int>) -> CSeq? {
        var i = r.lowerBound
        let end = r.upperBound
        let ns = i
        while i < end, ASCII.isDigit(p[i]) { i &+= 1 }
        guard let n = p.decimal(ns..<i, maxDigits: 10), n < 1 << 31 else { return nil }
        let ws = i
        GenericParams.skipLWS(p, &i, end)
        guard i > ws else { return nil }
        let ms = i
        while i < end, ASCII.isToken(p[i]) { i &+= 1 }
        guard i > ms, i == end else { return nil }
        return CSeq(number: UInt32(n), method: SIPMethod.identify(p, ms..<i), methodRange: ms..<i)
    }
}

/// The Content-Type header (RFC 3261 20.15): `type/subtype;params`.
public struct ContentType: Sendable {
    let base: [UInt8]
    public let typeRange: Range<Int>
    public let subtypeRange: Range<Int>
    public let params: ParamList

    public var type: String { String(decoding: base[typeRange], as: UTF8.self) }
    public var subtype: String { String(decoding: base[subtypeRange], as: UTF8.self) }
    /// `type/subtype`, lower-cased, for comparisons such as `application/sdp`.
    public var mediaType: String { (type + "/" + subtype).lowercased() }

    static func parse(_ base: [UInt8], _ p: Bytes, _ r: Range<Int>) -> ContentType? {
        var i = r.lowerBound
        let end = r.upperBound
        let ts = i
        while i < end, ASCII.isToken(p[i]) { i &+= 1 }
        let t = ts..<i
        guard !t.isEmpty, i < end, p[i] == ASCII.slash else { return nil }
        i &+= 1
        let ss = i
        while i < end, ASCII.isToken(p[i]) { i &+= 1 }
        let s = ss..<i
        guard !s.isEmpty else { return nil }
        var entries: [ParamList.Entry] = []
        guard GenericParams.parse(p, &i, end, into: &entries), i == end else { return nil }
        return ContentType(base: base, typeRange: t, subtypeRange: s, params: ParamList(base: base, entries: entries))
    }
}

/// One header field of a message, as ranges into its bytes.
public struct HeaderField: Sendable {
    public let kind: HeaderKind
    /// The name as written (`v`, `Via`, `X-Foo`).
    public let nameRange: Range<Int>
    /// The value without surrounding white space; it may span folded lines.
    public let valueRange: Range<Int>
    /// The whole field, from the name to after its line end: what a removal takes out.
    public let lineRange: Range<Int>
}
