/// What the retransmission fast path extracts: the start line's gist and the key.
public struct FastMatch: Sendable {
    public let isRequest: Bool
    /// The request method; for a response, the CSeq method.
    public let method: SIPMethod
    /// The status code of a response, 0 for a request.
    public let statusCode: Int
    /// The server key of a request, or the client key of a response.
    public let key: TransactionKey
}

extension TransactionKey {
    /// Reads only the start line and the headers the key needs (the top Via, and CSeq for
    /// a response), stopping as soon as it has them: for matching retransmissions without
    /// a full parse. A request whose branch lacks the magic cookie needs the RFC 2543 key,
    /// which takes the full parse. Nil when the bytes are malformed or too large; a full
    /// `SIPMessage.parse` then says why. It validates less than `parse`: a message it
    /// accepts may still be rejected by `parse`.
    public static func fast(_ bytes: [UInt8]) -> FastMatch? {
        guard !bytes.isEmpty, bytes.count <= SIPMessage.Limits.maxMessageSize else { return nil }
        let scanned: FastMatch?? = bytes.withUnsafeBufferPointer { p in fastScan(p) }
        switch scanned {
        case .some(let result): return result
        case .none:
            // No magic cookie: the RFC 2543 key needs the full parse.
            guard let m = try? SIPMessage.parse(bytes), m.isRequest else { return nil }
            return FastMatch(isRequest: true, method: m.method, statusCode: 0, key: TransactionKey(request: m))
        }
    }

    /// `.some(nil)`: malformed. `.none`: needs the full parse.
    private static func fastScan(_ p: Bytes) -> FastMatch?? {
        let n = p.count
        var i = 0
        while i < n, p[i] == ASCII.cr || p[i] == ASCII.lf { i &+= 1 }
        let ls = i
        let lf = MessageParser.nextLF(p, i)
        guard lf < n, lf &- ls <= SIPMessage.Limits.maxLineLength else { return .some(nil) }
        let isRequest: Bool
        var methodRange = 0..<0
        var status = 0
        if lf &- ls >= 12, p.equalsLower(ls..<(ls &+ 4), "sip/") {
            isRequest = false
            guard let sp = p.firstIndex(of: ASCII.sp, in: ls..<lf), sp &+ 4 <= lf,
                  let code = p.decimal((sp &+ 1)..<(sp &+ 4), maxDigits: 3), code >= 100, code <= 699
            else { return .some(nil) }
            status = Int(code)
        } else {
            isRequest = true
            while i < lf, ASCII.isToken(p[i]) { i &+= 1 }
            guard i > ls, i < lf, p[i] == ASCII.sp else { return .some(nil) }
            methodRange = ls..<i
        }
        var via: Via.SentBy? = nil
        var branch: Range<Int>? = nil
        var cseqMethod: Range<Int>? = nil
        var headerCount = 0
        i = lf &+ 1
        while i < n {
            if p[i] == ASCII.lf || p[i] == ASCII.cr { break }
            headerCount &+= 1
            guard headerCount <= SIPMessage.Limits.maxHeaders else { return .some(nil) }
            let ns = i
            while i < n, ASCII.isToken(p[i]) { i &+= 1 }
            let name = ns..<i
            while i < n, ASCII.isWS(p[i]) { i &+= 1 }
            guard !name.isEmpty, i < n, p[i] == ASCII.colon else { return .some(nil) }
            let vs = i &+ 1
            var e = MessageParser.nextLF(p, vs)
            while e < n, e &+ 1 < n, ASCII.isWS(p[e &+ 1]) { e = MessageParser.nextLF(p, e &+ 1) }
            i = e < n ? e &+ 1 : n
            let nameLen = name.count
            let first = ASCII.lower(p[ns])
            if via == nil, first == 118, nameLen == 1 || (nameLen == 3 && p.equalsLower(name, "via")) {
                var j = vs
                GenericParams.skipLWS(p, &j, e)
                guard let s = Via.scanSentBy(p, &j, e) else { return .some(nil) }
                via = s
                let ok = GenericParams.parse(p, &j, e) { entry in
                    if branch == nil, p.equalsLower(entry.name, "branch") { branch = entry.value }
                }
                guard ok else { return .some(nil) }
                if isRequest { break }
            } else if !isRequest, cseqMethod == nil, first == 99, nameLen == 4, p.equalsLower(name, "cseq") {
                let v = p.trimmedLWS(vs..<e)
                guard let c = CSeq.parse(p, v) else { return .some(nil) }
                cseqMethod = c.methodRange
            }
            if via != nil, cseqMethod != nil { break }
        }
        guard let via else { return .some(nil) }
        if isRequest {
            guard let branch, Via.isMagic(p, branch) else { return .none }
            var w = KeyWriter()
            w.tag(UInt8(ascii: "S"))
            w.add(p, branch)
            w.addLower(p, via.host)
            w.addPort(via.port)
            let offset = w.bytes.count
            let method = SIPMethod.identify(p, methodRange)
            w.addMethod(p, methodRange, ack: method == .ack)
            let key = TransactionKey(keyBytes: w.bytes, isRFC3261: true, methodOffset: offset)
            return .some(FastMatch(isRequest: true, method: method, statusCode: 0, key: key))
        }
        guard let cseqMethod else { return .some(nil) }
        let key = TransactionKey.client(p, branch ?? 0..<0, cseqMethod)
        return .some(FastMatch(isRequest: false, method: SIPMethod.identify(p, cseqMethod), statusCode: status, key: key))
    }
}
