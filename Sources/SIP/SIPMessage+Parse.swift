extension SIPMessage {
    /// Parses a request or response from the received bytes (RFC 3261 7).
    ///
    /// Locates every header field, parses the essentials (Via, From, To, Call-ID, CSeq,
    /// Content-Length, Max-Forwards) and takes the body by Content-Length, ignoring any
    /// octets after it. Without Content-Length the body is the rest of the buffer (the UDP
    /// rule, RFC 3261 18.3). Throws a `SIPParseError` naming the first fault and its offset;
    /// for an answerable request the error's `partial` holds the parsed message.
    public static func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        guard !bytes.isEmpty else { throw SIPParseError(kind: .empty, offset: 0) }
        guard bytes.count <= Limits.maxMessageSize else {
            throw SIPParseError(kind: .tooLarge, offset: Limits.maxMessageSize)
        }
        var parser = MessageParser(bytes: bytes)
        let message = bytes.withUnsafeBufferPointer { parser.run($0) }
        if let (kind, offset) = parser.fault {
            throw SIPParseError(kind: kind, offset: offset, partial: parser.fatal ? nil : message)
        }
        guard let message else {
            // Unreachable: every path that yields no message records a fault first.
            throw SIPParseError(kind: .badStartLine, offset: 0)
        }
        return message
    }
}

/// One parse: the start line, the header index, then the essentials. Faults are recorded
/// (the first one wins) rather than thrown, so an answerable request still yields the
/// message a 400 is built from.
struct MessageParser {
    let bytes: [UInt8]
    var fault: (SIPParseError.Kind, Int)? = nil
    /// True when the message cannot be answered whatever else parses.
    var fatal = false

    var isRequest = false
    var methodRange = 0..<0
    var uriRange = 0..<0
    var versionRange = 0..<0
    var statusCode = 0
    var reasonRange = 0..<0
    var startLineRange = 0..<0
    var headers: [HeaderField] = []
    var headersEnd = 0
    var bodyStart = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
        headers.reserveCapacity(16)
    }

    mutating func note(_ kind: SIPParseError.Kind, _ offset: Int) {
        if fault == nil { fault = (kind, offset) }
    }

    mutating func noteFatal(_ kind: SIPParseError.Kind, _ offset: Int) {
        note(kind, offset)
        fatal = true
    }

    mutating func run(_ p: Bytes) -> SIPMessage? {
        guard let next = startLine(p) else { return nil }
        scanHeaders(p, from: next)
        return essentials(p)
    }

    /// Index of the next LF at or after `i`, or `p.count`.
    @inline(__always) static func nextLF(_ p: Bytes, _ i: Int) -> Int {
        var j = i
        let n = p.count
        while j < n, p[j] != ASCII.lf { j &+= 1 }
        return j
    }

    /// Parses the start line; returns the index after its line end, nil when fatal.
    mutating func startLine(_ p: Bytes) -> Int? {
        let n = p.count
        var i = 0
        // RFC 3261 7.5: CRLFs before the start line are ignored.
        while i < n, p[i] == ASCII.cr || p[i] == ASCII.lf { i &+= 1 }
        let ls = i
        let lf = MessageParser.nextLF(p, i)
        guard lf < n else {
            noteFatal(.truncatedHeaders, n)
            return nil
        }
        let le = lf > ls && p[lf &- 1] == ASCII.cr ? lf &- 1 : lf
        guard le &- ls <= SIPMessage.Limits.maxLineLength else {
            noteFatal(.lineTooLong, ls)
            return nil
        }
        guard le > ls else {
            noteFatal(.badStartLine, ls)
            return nil
        }
        startLineRange = ls..<le
        if le &- ls >= 4, p.equalsLower(ls..<(ls &+ 4), "sip/") {
            responseLine(p, ls, le)
        } else {
            requestLine(p, ls, le)
        }
        return fatal ? nil : lf &+ 1
    }

    private mutating func responseLine(_ p: Bytes, _ ls: Int, _ le: Int) {
        // Any fault in a response is fatal: a malformed response is dropped.
        fatal = true
        guard let sp = p.firstIndex(of: ASCII.sp, in: ls..<le) else { return note(.badStartLine, ls) }
        versionRange = ls..<sp
        let cs = sp &+ 1
        var ce = cs
        while ce < le, ASCII.isDigit(p[ce]) { ce &+= 1 }
        guard ce &- cs == 3, ce == le || p[ce] == ASCII.sp,
              let code = p.decimal(cs..<ce, maxDigits: 3), code >= 100, code <= 699 else {
            return note(.badStatusCode, cs)
        }
        guard p.equalsLower(versionRange, "sip/2.0") else { return note(.versionNotSupported, ls) }
        statusCode = Int(code)
        methodRange = cs..<ce
        reasonRange = ce < le ? (ce &+ 1)..<le : le..<le
        fatal = false
    }

    private mutating func requestLine(_ p: Bytes, _ ls: Int, _ le: Int) {
        var i = ls
        while i < le, ASCII.isToken(p[i]) { i &+= 1 }
        guard i > ls, i < le, p[i] == ASCII.sp else {
            // Not even a method: nothing says this is a request we could answer.
            return noteFatal(.badStartLine, i)
        }
        isRequest = true
        methodRange = ls..<i
        let us = i &+ 1
        // The version is after the last space; anything between is the Request-URI.
        var lastSP = le
        while lastSP > us, p[lastSP &- 1] != ASCII.sp { lastSP &-= 1 }
        guard !ASCII.isWS(p[le &- 1]) else { return note(.badStartLine, le &- 1) }
        guard lastSP > us else { return note(.badStartLine, us) }
        uriRange = us..<(lastSP &- 1)
        versionRange = lastSP..<le
        if !p.equalsLower(versionRange, "sip/2.0") {
            if MessageParser.looksLikeVersion(p, versionRange) {
                note(.versionNotSupported, lastSP)
            } else {
                note(.badStartLine, lastSP)
            }
        }
        if uriRange.isEmpty || ASCII.isWS(p[us]) || ASCII.isWS(p[lastSP &- 2]) {
            return note(.badStartLine, us)
        }
        for k in uriRange where p[k] <= ASCII.sp || p[k] == ASCII.lessThan || p[k] == ASCII.greaterThan || p[k] >= 127 {
            return note(.badRequestURI, k)
        }
        if URIReference.schemeEnd(p, uriRange) == nil { note(.badRequestURI, us) }
    }

    /// `SIP/` digits `.` digits: a version we recognise but do not support.
    static func looksLikeVersion(_ p: Bytes, _ r: Range<Int>) -> Bool {
        guard r.count >= 7, p.equalsLower(r.lowerBound..<(r.lowerBound &+ 4), "sip/") else { return false }
        var sawDot = false
        for k in (r.lowerBound &+ 4)..<r.upperBound {
            if p[k] == 46, !sawDot { sawDot = true; continue }
            guard ASCII.isDigit(p[k]) else { return false }
        }
        return sawDot
    }

    /// Indexes the header fields from `start` up to the empty line.
    mutating func scanHeaders(_ p: Bytes, from start: Int) {
        let n = p.count
        var i = start
        while true {
            guard i < n else {
                note(.truncatedHeaders, n)
                headersEnd = n
                bodyStart = n
                return
            }
            if p[i] == ASCII.lf || (p[i] == ASCII.cr && i &+ 1 < n && p[i &+ 1] == ASCII.lf) {
                headersEnd = i
                bodyStart = p[i] == ASCII.lf ? i &+ 1 : i &+ 2
                return
            }
            guard headers.count < SIPMessage.Limits.maxHeaders else {
                noteFatal(.tooManyHeaders, i)
                headersEnd = i
                bodyStart = n
                return
            }
            let lineStart = i
            while i < n, ASCII.isToken(p[i]) { i &+= 1 }
            let name = lineStart..<i
            while i < n, ASCII.isWS(p[i]) { i &+= 1 }
            let nameOK = !name.isEmpty && i < n && p[i] == ASCII.colon
            if nameOK { i &+= 1 }
            // Find the end of the field: the first line end not followed by a fold.
            let valueStart = i
            var lf = MessageParser.nextLF(p, i)
            while lf < n, lf &+ 1 < n, ASCII.isWS(p[lf &+ 1]) {
                lf = MessageParser.nextLF(p, lf &+ 1)
            }
            let fieldEnd = lf < n ? lf &+ 1 : n
            i = fieldEnd
            guard nameOK else {
                note(.badHeaderLine, lineStart)
                continue
            }
            if fieldEnd &- lineStart > SIPMessage.Limits.maxLineLength {
                note(.lineTooLong, lineStart)
                continue
            }
            let value = p.trimmedLWS(valueStart..<min(lf, n))
            headers.append(HeaderField(kind: HeaderKind.identify(p, name), nameRange: name,
                                       valueRange: value, lineRange: lineStart..<fieldEnd))
        }
    }
}
