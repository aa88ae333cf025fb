/// One Via value (RFC 3261 20.42): `SIP/2.0/UDP host:port;branch=...;received=...;rport`.
public struct Via: Sendable {
    /// How `rport` (RFC 3581) appears: absent, present without a value, or with one.
    public enum RPort: Sendable, Equatable {
        case absent
        case requested
        case value(Int)
    }

    let base: [UInt8]
    /// The whole via-parm, from the protocol name to the last parameter.
    public let valueRange: Range<Int>
    public let protocolNameRange: Range<Int>
    public let protocolVersionRange: Range<Int>
    public let transportRange: Range<Int>
    /// The sent-by host; an IPv6 reference keeps its brackets.
    public let hostRange: Range<Int>
    /// The sent-by port, nil when not given.
    public let port: Int?
    public let params: ParamList
    /// The `branch` value's range, nil when absent.
    public let branchRange: Range<Int>?

    public var protocolName: String { text(protocolNameRange) }
    public var protocolVersion: String { text(protocolVersionRange) }
    /// The transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, ...).
    public var transport: String { text(transportRange) }
    public var host: String { text(hostRange) }
    public var branch: String? { branchRange.map(text) }
    public var received: String? { params.value("received") }
    /// The whole via-parm as written (folds unfolded).
    public var value: String { unfoldedString(base, valueRange) }

    public var rport: RPort {
        guard let e = params.entry("rport") else { return .absent }
        guard let v = e.value else { return .requested }
        let n = base.withUnsafeBufferPointer { $0.decimal(v, maxDigits: 5) }
        if let n, n <= 65535 { return .value(Int(n)) }
        return .requested
    }

    /// True when the branch starts with the RFC 3261 magic cookie `z9hG4bK` and has more
    /// after it (a bare cookie, as in RFC 4475 3.2.1, does not count).
    public var hasMagicCookie: Bool {
        guard let r = branchRange else { return false }
        return base.withUnsafeBufferPointer { Via.isMagic($0, r) }
    }

    static func isMagic(_ p: Bytes, _ r: Range<Int>) -> Bool {
        let cookie: StaticString = "z9hG4bK"
        let n = cookie.utf8CodeUnitCount
        guard r.count > n else { return false }
        let c = cookie.utf8Start
        for k in 0..<n where p[r.lowerBound &+ k] != c[k] { return false }
        return true
    }

    private func text(_ r: Range<Int>) -> String { String(decoding: base[r], as: UTF8.self) }
}

extension Via {
    /// Parses every via-parm in `range` (one Via header field) and appends them to `out`.
    /// Returns nil on success or the offset of the first fault.
    static func parseList(_ base: [UInt8], _ p: Bytes, _ range: Range<Int>, into out: inout [Via]) -> Int? {
        var i = range.lowerBound
        let end = range.upperBound
        while true {
            GenericParams.skipLWS(p, &i, end)
            guard i < end else { return out.isEmpty ? i : nil }
            guard let via = parseOne(base, p, &i, end) else { return i }
            out.append(via)
            GenericParams.skipLWS(p, &i, end)
            if i >= end { return nil }
            guard p[i] == ASCII.comma else { return i }
            i &+= 1
        }
    }

    @inline(__always)
    private static func token(_ p: Bytes, _ i: inout Int, _ end: Int) -> Range<Int>? {
        let s = i
        while i < end, ASCII.isToken(p[i]) { i &+= 1 }
        return i > s ? s..<i : nil
    }

    @inline(__always)
    private static func slash(_ p: Bytes, _ i: inout Int, _ end: Int) -> Bool {
        GenericParams.skipLWS(p, &i, end)
        guard i < end, p[i] == ASCII.slash else { return false }
        i &+= 1
        GenericParams.skipLWS(p, &i, end)
        return true
    }

    /// The parts of a via-parm before its parameters.
    struct SentBy {
        var name: Range<Int>, version: Range<Int>, transport: Range<Int>, host: Range<Int>
        var port: Int?
    }

    /// Scans `sent-protocol LWS sent-by` at `i`; leaves `i` after it (or at the fault).
    static func scanSentBy(_ p: Bytes, _ i: inout Int, _ end: Int) -> SentBy? {
        guard let name = token(p, &i, end), slash(p, &i, end),
              let version = token(p, &i, end), slash(p, &i, end),
              let transport = token(p, &i, end) else { return nil }
        // sent-protocol and sent-by are separated by LWS, which is required.
        let wsStart = i
        GenericParams.skipLWS(p, &i, end)
        guard i > wsStart, i < end else { return nil }
        let hostStart = i
        if p[i] == ASCII.openBracket {
            while i < end, p[i] != ASCII.closeBracket { i &+= 1 }
            guard i < end else { return nil }
            i &+= 1
        } else {
            while i < end, ASCII.isAlpha(p[i]) || ASCII.isDigit(p[i]) || p[i] == 45 || p[i] == 46 || p[i] == 95 {
                i &+= 1
            }
        }
        guard i > hostStart else { return nil }
        var s = SentBy(name: name, version: version, transport: transport, host: hostStart..<i, port: nil)
        var j = i
        GenericParams.skipLWS(p, &j, end)
        if j < end, p[j] == ASCII.colon {
            j &+= 1
            GenericParams.skipLWS(p, &j, end)
            let ps = j
            while j < end, ASCII.isDigit(p[j]) { j &+= 1 }
            i = j
            guard let v = p.decimal(ps..<j, maxDigits: 5), v <= 65535 else { return nil }
            s.port = Int(v)
        }
        return s
    }

    /// Parses one via-parm at `i`; leaves `i` after its parameters (or at the fault).
    static func parseOne(_ base: [UInt8], _ p: Bytes, _ i: inout Int, _ end: Int) -> Via? {
        let start = i
        guard let s = scanSentBy(p, &i, end) else { return nil }
        var entries: [ParamList.Entry] = []
        guard GenericParams.parse(p, &i, end, into: &entries) else { return nil }
        var valueEnd = i
        while valueEnd > start, ASCII.isLWS(p[valueEnd &- 1]) { valueEnd &-= 1 }
        let branch = GenericParams.find(p, entries, "branch")?.value
        return Via(base: base, valueRange: start..<valueEnd, protocolNameRange: s.name,
                   protocolVersionRange: s.version, transportRange: s.transport, hostRange: s.host,
                   port: s.port, params: ParamList(base: base, entries: entries), branchRange: branch)
    }
}
