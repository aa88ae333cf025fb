/// A name-addr or addr-spec header value with its parameters: From, To, Contact, Route,
/// Record-Route entries (RFC 3261 20.10, 20.20, 20.39, 25.1).
public struct NameAddr: Sendable {
    let base: [UInt8]
    /// The whole value, display name to last parameter.
    public let valueRange: Range<Int>
    /// The display name as written (quotes included), nil when absent.
    public let displayNameRange: Range<Int>?
    /// The URI, without the angle brackets.
    public let uriRange: Range<Int>
    /// True when the URI was written inside `<...>`.
    public let isBracketed: Bool
    /// The header parameters after the address.
    public let params: ParamList
    /// The `tag` parameter's value range, nil when absent.
    public let tagRange: Range<Int>?

    /// The display name with quotes removed and quoted-pairs resolved.
    public var displayName: String? {
        guard let r = displayNameRange else { return nil }
        var bytes = Array(base[r])
        if bytes.count >= 2, bytes.first == ASCII.quote, bytes.last == ASCII.quote {
            var out: [UInt8] = []
            var k = 1
            while k < bytes.count - 1 {
                if bytes[k] == ASCII.backslash, k + 1 < bytes.count - 1 { k += 1 }
                out.append(bytes[k])
                k += 1
            }
            bytes = out
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URI text as written.
    public var uriString: String { String(decoding: base[uriRange], as: UTF8.self) }
    /// The URI, parsed on demand.
    public var uri: URIReference { URIReference(base: base, range: uriRange) }
    public var tag: String? { tagRange.map { String(decoding: base[$0], as: UTF8.self) } }
    /// The whole value as written (folds unfolded).
    public var value: String { unfoldedString(base, valueRange) }
}

extension NameAddr {
    /// Parses one name-addr/addr-spec with parameters at `i`, stopping before a `,` when
    /// `list` is true. Returns nil with `i` at the fault.
    static func parseOne(_ base: [UInt8], _ p: Bytes, _ i: inout Int, _ end: Int, list: Bool) -> NameAddr? {
        GenericParams.skipLWS(p, &i, end)
        let start = i
        guard i < end else { return nil }
        var display: Range<Int>? = nil
        var bracketAt: Int? = nil
        if p[i] == ASCII.quote {
            guard GenericParams.skipQuoted(p, &i, end) else { return nil }
            display = start..<i
            GenericParams.skipLWS(p, &i, end)
            guard i < end, p[i] == ASCII.lessThan else { return nil }
            bracketAt = i
        } else {
            // An unquoted display name (tokens, or leniently anything as in RFC 4475
            // baddn) runs up to `<`; a `;`, or in a list a `,`, first means addr-spec.
            var j = i
            while j < end {
                let b = p[j]
                if b == ASCII.lessThan { bracketAt = j; break }
                if b == ASCII.semicolon || b == ASCII.quote || (list && b == ASCII.comma) { break }
                j &+= 1
            }
            if let at = bracketAt {
                let d = p.trimmedLWS(start..<at)
                if !d.isEmpty { display = d }
            }
        }
        let uri: Range<Int>
        if let at = bracketAt {
            guard let close = p.firstIndex(of: ASCII.greaterThan, in: (at &+ 1)..<end) else {
                i = end
                return nil
            }
            // Leniently drop LWS inside the brackets (RFC 4475 badaspec).
            uri = p.trimmedLWS((at &+ 1)..<close)
            i = close &+ 1
        } else {
            let s = i
            while i < end {
                let b = p[i]
                if ASCII.isLWS(b) || b == ASCII.semicolon || (list && b == ASCII.comma) { break }
                i &+= 1
            }
            uri = s..<i
        }
        guard URIReference.schemeEnd(p, uri) != nil else {
            i = uri.lowerBound
            return nil
        }
        var entries: [ParamList.Entry] = []
        guard GenericParams.parse(p, &i, end, into: &entries) else { return nil }
        if !list {
            GenericParams.skipLWS(p, &i, end)
            guard i >= end else { return nil }
        }
        // tag-param = "tag" EQUAL token (RFC 3261 25.1): a tag with no value names no
        // dialog, and a reply could not add one beside it.
        let tag = GenericParams.find(p, entries, "tag")
        if let tag, tag.value?.isEmpty ?? true {
            i = tag.name.lowerBound
            return nil
        }
        var valueEnd = i
        while valueEnd > start, ASCII.isLWS(p[valueEnd &- 1]) { valueEnd &-= 1 }
        return NameAddr(base: base, valueRange: start..<valueEnd, displayNameRange: display,
                        uriRange: uri, isBracketed: bracketAt != nil,
                        params: ParamList(base: base, entries: entries),
                        tagRange: tag?.value)
    }

    /// Parses a comma-separated list of name-addrs (one header field) into `out`.
    /// Returns nil on success or the offset of the fault.
    static func parseList(_ base: [UInt8], _ p: Bytes, _ range: Range<Int>, into out: inout [NameAddr]) -> Int? {
        var i = range.lowerBound
        let end = range.upperBound
        while true {
            guard let na = parseOne(base, p, &i, end, list: true) else { return i }
            out.append(na)
            GenericParams.skipLWS(p, &i, end)
            if i >= end { return nil }
            guard p[i] == ASCII.comma else { return i }
            i &+= 1
        }
    }
}

/// The Contact header(s) of a message: `*` (REGISTER removing all bindings) or addresses.
public enum ContactValue: Sendable {
    case star
    case addresses([NameAddr])

    public var addresses: [NameAddr] {
        if case .addresses(let a) = self { return a }
        return []
    }
}
