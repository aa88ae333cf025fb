/// The `;name[=value]` parameters of a header value or URI, as ranges into the message.
///
/// Names compare case-insensitively (RFC 3261 7.3.1 and 19.1.4). Values are returned as
/// written (a quoted value keeps its quotes; URI parameters keep their %-escapes).
public struct ParamList: Sendable {
    /// One parameter: the name's range and, when it has `=value`, the value's range.
    public struct Entry: Sendable, Equatable {
        public let name: Range<Int>
        public let value: Range<Int>?
    }

    let base: [UInt8]
    /// The parameters in order of appearance.
    public let entries: [Entry]

    init(base: [UInt8], entries: [Entry]) {
        self.base = base
        self.entries = entries
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The entry named `name`, compared case-insensitively.
    public func entry(_ name: String) -> Entry? {
        var name = name
        return name.withUTF8 { n in
            base.withUnsafeBufferPointer { p in
                entries.first { p.equalsIgnoringCase($0.name, n, 0..<n.count) }
            }
        }
    }

    /// True when the parameter is present, with or without a value.
    public func contains(_ name: String) -> Bool { entry(name) != nil }

    /// The parameter's value, or nil when absent or valueless.
    public func value(_ name: String) -> String? {
        guard let r = entry(name)?.value else { return nil }
        return String(decoding: base[r], as: UTF8.self)
    }

    /// All parameters as strings, in order.
    public var pairs: [(name: String, value: String?)] {
        entries.map { e in
            (String(decoding: base[e.name], as: UTF8.self), e.value.map { String(decoding: base[$0], as: UTF8.self) })
        }
    }
}

enum GenericParams {
    /// Skips a quoted string starting at `i` (which must be at `"`); false if unterminated.
    static func skipQuoted(_ p: Bytes, _ i: inout Int, _ end: Int) -> Bool {
        i &+= 1
        while i < end {
            let b = p[i]
            if b == ASCII.backslash {
                i &+= 2
                continue
            }
            i &+= 1
            if b == ASCII.quote { return true }
        }
        i = end
        return false
    }

    @inline(__always) static func skipLWS(_ p: Bytes, _ i: inout Int, _ end: Int) {
        while i < end, ASCII.isLWS(p[i]) { i &+= 1 }
    }

    /// Parses header parameters (`*( SEMI generic-param )`, RFC 3261 25.1) from `i`,
    /// stopping before a `,` or at `end`. Returns false on a syntax error (an empty
    /// parameter, a missing value after `=`, an unterminated quote) with `i` at the fault.
    static func parse(_ p: Bytes, _ i: inout Int, _ end: Int, into out: inout [ParamList.Entry]) -> Bool {
        parse(p, &i, end) { out.append($0) }
    }

    /// As `parse(_:_:_:into:)`, handing each parameter to `each` instead of storing it.
    @inline(__always)
    static func parse(_ p: Bytes, _ i: inout Int, _ end: Int, each: (ParamList.Entry) -> Void) -> Bool {
        while true {
            skipLWS(p, &i, end)
            if i >= end || p[i] == ASCII.comma { return true }
            guard p[i] == ASCII.semicolon else { return false }
            i &+= 1
            skipLWS(p, &i, end)
            let nameStart = i
            while i < end, ASCII.isToken(p[i]) { i &+= 1 }
            guard i > nameStart else { return false }
            let name = nameStart..<i
            skipLWS(p, &i, end)
            var value: Range<Int>? = nil
            if i < end, p[i] == ASCII.equals {
                i &+= 1
                skipLWS(p, &i, end)
                let vStart = i
                if i < end, p[i] == ASCII.quote {
                    guard skipQuoted(p, &i, end) else { return false }
                } else {
                    // token, host or IPv6 reference: anything up to a separator.
                    while i < end {
                        let b = p[i]
                        if ASCII.isLWS(b) || b == ASCII.semicolon || b == ASCII.comma || b == ASCII.quote
                            || b == ASCII.lessThan || b == ASCII.greaterThan { break }
                        i &+= 1
                    }
                }
                guard i > vStart else { return false }
                value = vStart..<i
            }
            each(ParamList.Entry(name: name, value: value))
        }
    }

    /// Index of the first entry named `lit` (lower-case literal), or nil.
    static func find(_ p: Bytes, _ entries: [ParamList.Entry], _ lit: StaticString) -> ParamList.Entry? {
        for e in entries where p.equalsLower(e.name, lit) { return e }
        return nil
    }
}
