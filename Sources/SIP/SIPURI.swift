/// A `sip:` or `sips:` URI (RFC 3261 19.1): user, password, host, port, parameters and
/// headers, as ranges into the bytes it was parsed from (no copy when from a message).
///
/// Accessors return the text as written, %-escapes included; `SIPURI.percentDecoded`
/// resolves them for comparisons (RFC 3261 19.1.4).
public struct SIPURI: Sendable {
    let base: [UInt8]
    /// The whole URI.
    public let range: Range<Int>
    /// True for `sips:`.
    public let isSecure: Bool
    public let userRange: Range<Int>?
    public let passwordRange: Range<Int>?
    /// The host; an IPv6 reference keeps its brackets.
    public let hostRange: Range<Int>
    public let port: Int?
    public let params: ParamList
    /// The `?h=v&h=v` part without the `?`, nil when absent.
    public let headersRange: Range<Int>?

    public var user: String? { userRange.map(text) }
    public var password: String? { passwordRange.map(text) }
    public var host: String { text(hostRange) }
    /// The whole URI as written.
    public var string: String { text(range) }
    /// The headers as (name, value) pairs, still %-escaped.
    public var headers: [(name: String, value: String)] {
        guard let r = headersRange else { return [] }
        return text(r).split(separator: "&").map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        }
    }

    /// Parses `text` as a sip or sips URI; nil when it is not one.
    public static func parse(_ text: String) -> SIPURI? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { parse(bytes, $0, 0..<bytes.count) }
    }

    /// Parses bytes as a sip or sips URI; nil when they are not one.
    public static func parse(_ bytes: [UInt8]) -> SIPURI? {
        bytes.withUnsafeBufferPointer { parse(bytes, $0, 0..<bytes.count) }
    }

    /// Resolves %-escapes (`%41` -> `A`); malformed escapes are kept as written.
    public static func percentDecoded(_ s: String) -> String {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var k = 0
        while k < b.count {
            if b[k] == ASCII.percent, k + 2 < b.count,
               let h = ASCII.hexValue(b[k + 1]), let l = ASCII.hexValue(b[k + 2]) {
                out.append(h << 4 | l)
                k += 3
            } else {
                out.append(b[k])
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func text(_ r: Range<Int>) -> String { String(decoding: base[r], as: UTF8.self) }

    static func parse(_ base: [UInt8], _ p: Bytes, _ r: Range<Int>) -> SIPURI? {
        guard let colon = URIReference.schemeEnd(p, r) else { return nil }
        let scheme = r.lowerBound..<colon
        let secure: Bool
        if p.equalsLower(scheme, "sip") { secure = false } else if p.equalsLower(scheme, "sips") { secure = true } else { return nil }
        let end = r.upperBound
        var i = colon &+ 1
        // Userinfo may hold ; ? / and more (RFC 4475 semiuri, intmeth); '@' cannot appear
        // unescaped anywhere else, so the first '@' ends it.
        var user: Range<Int>? = nil
        var password: Range<Int>? = nil
        if let at = p.firstIndex(of: ASCII.at, in: i..<end) {
            let info = i..<at
            if let pc = p.firstIndex(of: ASCII.colon, in: info) {
                user = i..<pc
                password = (pc &+ 1)..<at
            } else {
                user = info
            }
            for k in info where ASCII.isLWS(p[k]) || p[k] == ASCII.lessThan || p[k] == ASCII.greaterThan { return nil }
            i = at &+ 1
        }
        let hostStart = i
        if i < end, p[i] == ASCII.openBracket {
            while i < end, p[i] != ASCII.closeBracket { i &+= 1 }
            guard i < end else { return nil }
            i &+= 1
        } else {
            while i < end, ASCII.isAlpha(p[i]) || ASCII.isDigit(p[i]) || p[i] == 45 || p[i] == 46 || p[i] == 95 { i &+= 1 }
        }
        guard i > hostStart else { return nil }
        let host = hostStart..<i
        var port: Int? = nil
        if i < end, p[i] == ASCII.colon {
            let ps = i &+ 1
            i = ps
            while i < end, ASCII.isDigit(p[i]) { i &+= 1 }
            guard let v = p.decimal(ps..<i, maxDigits: 5), v <= 65535 else { return nil }
            port = Int(v)
        }
        var entries: [ParamList.Entry] = []
        i = parseURIParams(p, i, end, into: &entries)
        var headers: Range<Int>? = nil
        if i < end, p[i] == ASCII.question {
            headers = (i &+ 1)..<end
            for k in (i &+ 1)..<end where ASCII.isLWS(p[k]) { return nil }
            i = end
        }
        guard i == end else { return nil }
        return SIPURI(base: base, range: r, isSecure: secure, userRange: user, passwordRange: password,
                      hostRange: host, port: port, params: ParamList(base: base, entries: entries),
                      headersRange: headers)
    }

    /// Parses `;name[=value]` URI parameters from `i`; returns where it stopped (at `?`,
    /// at a character no parameter may hold, or at `end`).
    static func parseURIParams(_ p: Bytes, _ start: Int, _ end: Int, into out: inout [ParamList.Entry]) -> Int {
        var i = start
        while i < end, p[i] == ASCII.semicolon {
            let ns = i &+ 1
            i = ns
            while i < end, isParamChar(p[i]) { i &+= 1 }
            guard i > ns else { return ns &- 1 }
            let name = ns..<i
            var value: Range<Int>? = nil
            if i < end, p[i] == ASCII.equals {
                let vs = i &+ 1
                i = vs
                while i < end, isParamChar(p[i]) { i &+= 1 }
                value = vs..<i
            }
            out.append(ParamList.Entry(name: name, value: value))
        }
        return i
    }

    // paramchar: unreserved, escaped, and [ ] / : & + $ (RFC 3261 25.1).
    @inline(__always) static func isParamChar(_ b: UInt8) -> Bool {
        if ASCII.isAlpha(b) || ASCII.isDigit(b) { return true }
        switch b {
        case 45, 95, 46, 33, 126, 42, 39, 40, 41, 37, 91, 93, 47, 58, 38, 43, 36: return true
        default: return false
        }
    }
}
