extension SIPMessage {
    /// The header fields named `name` (case-insensitive; compact forms match their long
    /// names, so `"f"` and `"From"` find the same fields), in order.
    public func fields(named name: String) -> [HeaderField] {
        let kind = HeaderKind(name: name)
        if kind != .other { return headers.filter { $0.kind == kind } }
        var name = name
        return name.withUTF8 { n in
            bytes.withUnsafeBufferPointer { p in
                headers.filter { $0.kind == .other && p.equalsIgnoringCase($0.nameRange, n, 0..<n.count) }
            }
        }
    }

    /// The first field's value named `name`, nil when absent: what `$hdr(name)` gives.
    public func headerValue(_ name: String) -> String? {
        let kind = HeaderKind(name: name)
        if kind != .other { return headerValue(kind) }
        return fields(named: name).first.map { text($0.valueRange) }
    }

    /// The first field's value of a known header, nil when absent (no name to compare).
    public func headerValue(_ kind: HeaderKind) -> String? {
        headers.first { $0.kind == kind }.map { text($0.valueRange) }
    }

    /// Whether the message has a field of a known header.
    public func hasHeader(_ kind: HeaderKind) -> Bool {
        headers.contains { $0.kind == kind }
    }

    /// Every value of the header `name`: one per field, and for the headers RFC 3261 lets
    /// hold a comma-separated list (`HeaderKind.isList`) one per list element.
    public func headerValues(_ name: String) -> [String] {
        let found = fields(named: name)
        guard let kind = found.first?.kind, kind.isList else { return found.map { text($0.valueRange) } }
        return found.flatMap { f in listElements(f.valueRange).map { text($0) } }
    }

    /// How many fields named `name` the message has.
    public func headerCount(_ name: String) -> Int { fields(named: name).count }

    /// The ranges of the comma-separated elements of `range`, ignoring commas inside
    /// quoted strings and angle brackets.
    public func listElements(_ range: Range<Int>) -> [Range<Int>] {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return [] }
        return bytes.withUnsafeBufferPointer { p in
            var out: [Range<Int>] = []
            var i = range.lowerBound
            var start = i
            var inAngle = false
            while i < range.upperBound {
                let b = p[i]
                if b == ASCII.quote {
                    _ = GenericParams.skipQuoted(p, &i, range.upperBound)
                    continue
                }
                if b == ASCII.lessThan { inAngle = true }
                if b == ASCII.greaterThan { inAngle = false }
                if b == ASCII.comma, !inAngle {
                    let e = p.trimmedLWS(start..<i)
                    if !e.isEmpty { out.append(e) }
                    start = i &+ 1
                }
                i &+= 1
            }
            let e = p.trimmedLWS(start..<range.upperBound)
            if !e.isEmpty { out.append(e) }
            return out
        }
    }

    /// The Contact header(s), parsed now; nil when absent. Throws on a malformed Contact
    /// or a `*` mixed with addresses.
    public var contact: ContactValue? {
        get throws(SIPParseError) {
            let found = headers.filter { $0.kind == .contact }
            guard !found.isEmpty else { return nil }
            if found.count == 1, found[0].valueRange.count == 1, bytes[found[0].valueRange.lowerBound] == ASCII.star {
                return .star
            }
            return .addresses(try nameAddrs(found, .contact))
        }
    }

    /// The Route entries in order, across all Route fields.
    public var routes: [NameAddr] {
        get throws(SIPParseError) { try nameAddrs(headers.filter { $0.kind == .route }, .route) }
    }

    /// The Record-Route entries in order, across all Record-Route fields.
    public var recordRoutes: [NameAddr] {
        get throws(SIPParseError) { try nameAddrs(headers.filter { $0.kind == .recordRoute }, .recordRoute) }
    }

    /// The Content-Type, nil when absent.
    public var contentType: ContentType? {
        get throws(SIPParseError) {
            guard let f = headers.first(where: { $0.kind == .contentType }) else { return nil }
            let parsed = bytes.withUnsafeBufferPointer { ContentType.parse(bytes, $0, f.valueRange) }
            guard let parsed else { throw SIPParseError(kind: .badHeader(.contentType), offset: f.valueRange.lowerBound) }
            return parsed
        }
    }

    private func nameAddrs(_ fields: [HeaderField], _ kind: HeaderKind) throws(SIPParseError) -> [NameAddr] {
        var out: [NameAddr] = []
        for f in fields {
            let fault = bytes.withUnsafeBufferPointer { NameAddr.parseList(bytes, $0, f.valueRange, into: &out) }
            if let fault { throw SIPParseError(kind: .badHeader(kind), offset: fault) }
        }
        return out
    }
}
