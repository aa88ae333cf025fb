extension MessageParser {
    /// Parses the headers every message needs and assembles the message. Returns nil when
    /// the message cannot be answered (the fault is recorded and `fatal` set).
    mutating func essentials(_ p: Bytes) -> SIPMessage? {
        var vias: [Via] = []
        var viaOK = true
        var from: Int? = nil, to: Int? = nil, callID: Int? = nil, cseq: Int? = nil
        var contentLength: Int? = nil, maxForwards: Int? = nil
        for idx in headers.indices {
            let h = headers[idx]
            switch h.kind {
            case .via:
                if let off = Via.parseList(bytes, p, h.valueRange, into: &vias) {
                    note(.badHeader(.via), off)
                    viaOK = false
                }
            case .from: single(&from, idx, .from)
            case .to: single(&to, idx, .to)
            case .callID: single(&callID, idx, .callID)
            case .cseq: single(&cseq, idx, .cseq)
            case .contentLength: single(&contentLength, idx, .contentLength)
            case .maxForwards: single(&maxForwards, idx, .maxForwards)
            default: break
            }
        }
        if vias.isEmpty, viaOK { note(.missingHeader(.via), headersEnd) }
        let fromValue = nameAddr(p, from, .from)
        let toValue = nameAddr(p, to, .to)
        var callIDRange: Range<Int>? = nil
        if let callID {
            let r = headers[callID].valueRange
            var ok = !r.isEmpty
            for k in r where ASCII.isLWS(p[k]) || p[k] < ASCII.sp || p[k] == 127 { ok = false }
            if ok { callIDRange = r } else { note(.badHeader(.callID), r.lowerBound) }
        } else {
            note(.missingHeader(.callID), headersEnd)
        }
        var cseqValue: CSeq? = nil
        if let cseq {
            cseqValue = CSeq.parse(p, headers[cseq].valueRange)
            if cseqValue == nil { note(.badHeader(.cseq), headers[cseq].valueRange.lowerBound) }
        } else {
            note(.missingHeader(.cseq), headersEnd)
        }
        guard viaOK, !vias.isEmpty, let fromValue, let toValue, let callIDRange, let cseqValue else {
            fatal = true
            return nil
        }
        if isRequest, !sameBytes(p, methodRange, cseqValue.methodRange) {
            note(.cseqMethodMismatch, cseqValue.methodRange.lowerBound)
        }
        var maxForwardsValue: Int? = nil
        if let maxForwards {
            let r = headers[maxForwards].valueRange
            if let v = p.decimal(r, maxDigits: 3), v <= 255 {
                maxForwardsValue = Int(v)
            } else {
                note(.badHeader(.maxForwards), r.lowerBound)
            }
        }
        let n = p.count
        var body = bodyStart..<n
        var contentLengthValue: Int? = nil
        if let contentLength {
            let r = headers[contentLength].valueRange
            if let v = p.decimal(r, maxDigits: 10), v <= UInt64(SIPMessage.Limits.maxMessageSize) {
                let cl = Int(v)
                contentLengthValue = cl
                if cl > n &- bodyStart {
                    note(.contentLengthMismatch, n)
                } else {
                    body = bodyStart..<(bodyStart &+ cl)
                }
            } else {
                note(.badHeader(.contentLength), r.lowerBound)
            }
        }
        if !isRequest, fault != nil { fatal = true }
        let method = isRequest ? SIPMethod.identify(p, methodRange) : cseqValue.method
        return SIPMessage(
            bytes: bytes, isRequest: isRequest, method: method, methodRange: methodRange,
            requestURIRange: uriRange, versionRange: versionRange, statusCode: statusCode,
            reasonRange: reasonRange, startLineRange: startLineRange, headers: headers,
            headersEnd: headersEnd, bodyRange: body, vias: vias, from: fromValue, to: toValue,
            callIDRange: callIDRange, cseq: cseqValue, maxForwards: maxForwardsValue,
            contentLength: contentLengthValue)
    }

    private mutating func single(_ slot: inout Int?, _ idx: Int, _ kind: HeaderKind) {
        if slot == nil {
            slot = idx
        } else {
            // RFC 4475 multi01: a second From/To/Call-ID/CSeq (or mcl01: Content-Length)
            // makes the request ambiguous; the first occurrence is kept for the reply.
            note(.duplicateHeader(kind), headers[idx].lineRange.lowerBound)
        }
    }

    private mutating func nameAddr(_ p: Bytes, _ idx: Int?, _ kind: HeaderKind) -> NameAddr? {
        guard let idx else {
            note(.missingHeader(kind), headersEnd)
            return nil
        }
        let r = headers[idx].valueRange
        var i = r.lowerBound
        guard let v = NameAddr.parseOne(bytes, p, &i, r.upperBound, list: false) else {
            note(.badHeader(kind), i)
            return nil
        }
        return v
    }

    private func sameBytes(_ p: Bytes, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        var i = a.lowerBound, j = b.lowerBound
        while i < a.upperBound {
            if p[i] != p[j] { return false }
            i &+= 1; j &+= 1
        }
        return true
    }
}
