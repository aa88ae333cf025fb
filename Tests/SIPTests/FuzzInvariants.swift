#if !FUZZING
import Testing
#endif

@testable import SIP

/// What every input must satisfy, checked by the fuzz tests. One `FuzzInvariants` value
/// runs many inputs and keeps the first violations (with the input that caused each), so a
/// failing run reports a few reproducible cases instead of thousands of issues.
struct FuzzInvariants {
    /// Inputs checked, and how they ended.
    private(set) var inputs = 0
    private(set) var parsed = 0
    private(set) var refused = 0
    private(set) var answerable = 0
    /// The first violations found, each with the input (escaped) that caused it.
    private(set) var violations: [String] = []
    private(set) var violationCount = 0

    #if !FUZZING
    /// The summary `#expect` asserts on: every input satisfied every invariant.
    func expectClean(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            violationCount == 0,
            "\(what): \(violationCount) violation(s) in \(inputs) inputs; first ones:\n\(violations.joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    }
    #endif

    private mutating func violated(_ why: String, _ bytes: [UInt8]) {
        violationCount += 1
        if violations.count < 5 {
            violations.append("- \(why)\n  input (\(bytes.count) bytes): \(Self.escaped(bytes))")
        }
    }

    static func escaped(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(400).map { b -> String in
            switch b {
            case 0x0d: "\\r"
            case 0x0a: "\\n"
            case 0x5c: "\\\\"
            case 0x20..<0x7f: String(UnicodeScalar(b))
            default: "\\x" + String(b, radix: 16)
            }
        }.joined()
        return "\"\(shown)\"" + (bytes.count > 400 ? "..." : "")
    }

    /// Parses `bytes` and checks the outcome: a message or a typed `SIPParseError` (the
    /// type says nothing else can come out), an error consistent with its input, and for a
    /// message, re-serialisation and the builders parsing back to equivalent messages.
    mutating func check(_ bytes: [UInt8]) {
        inputs += 1
        // The fast path runs on every datagram before any parse: it must not trap either.
        let fast = TransactionKey.fast(bytes)
        let outcome: Result<SIPMessage, SIPParseError> = Result { () throws(SIPParseError) in
            try SIPMessage.parse(bytes)
        }
        switch outcome {
        case .success(let m):
            parsed += 1
            checkParsed(m, fast: fast, bytes)
        case .failure(let e):
            refused += 1
            checkRefused(e, bytes)
        }
    }

    // MARK: a refused input

    private mutating func checkRefused(_ e: SIPParseError, _ bytes: [UInt8]) {
        if !(0...max(bytes.count, 0)).contains(e.offset) {
            violated("error offset \(e.offset) outside the input: \(e)", bytes)
        }
        if bytes.isEmpty != (e.kind == .empty) { violated("empty input and .empty disagree: \(e)", bytes) }
        if bytes.count > SIPMessage.Limits.maxMessageSize, e.kind != .tooLarge {
            violated("oversized input not refused as tooLarge: \(e)", bytes)
        }
        _ = e.replyReason
        _ = e.description
        guard let partial = e.partial else { return }
        answerable += 1
        // Only a request is answered; a malformed response is dropped.
        if !partial.isRequest { violated("a response is answerable: \(e)", bytes) }
        if e.replyStatus != 400 && e.replyStatus != 505 { violated("reply status \(e.replyStatus)", bytes) }
        exerciseViews(partial)
        checkReply(to: partial, status: e.replyStatus, reason: e.replyReason, bytes)
    }

    // MARK: a parsed input

    private mutating func checkParsed(_ m: SIPMessage, fast: FastMatch?, _ bytes: [UInt8]) {
        if m.bytes != bytes { violated("the message does not keep its bytes", bytes) }
        if m.vias.isEmpty { violated("parsed without a Via", bytes) }
        exerciseViews(m)

        // Its bytes, parsed again, give the same message.
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(m.bytes) }) {
        case .success(let again):
            if let d = Self.difference(m, again, sameHeaders: true) {
                violated("reparse of its bytes differs: \(d)", bytes)
            }
        case .failure(let e):
            violated("its own bytes no longer parse: \(e)", bytes)
        }

        // Rebuilt from its views (start line, each header's name and value, the body), it
        // parses to an equivalent message: the ranges the parser recorded are consistent.
        let rebuilt = Self.reserialised(m)
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(rebuilt) }) {
        case .success(let again):
            if let d = Self.difference(m, again, sameHeaders: true) {
                violated("re-serialised message differs: \(d)", bytes)
            }
            if again.body != m.body { violated("re-serialised body differs", bytes) }
        case .failure(let e):
            violated("re-serialised message does not parse: \(e)\n  rebuilt: \(Self.escaped(rebuilt))", bytes)
        }

        // The retransmission fast path, when it answers, agrees with the full parse.
        if let fast {
            let key = m.isRequest ? TransactionKey(request: m) : TransactionKey(response: m)
            if fast.isRequest != m.isRequest || fast.key != key {
                violated("fast path key \(fast.key) differs from the full parse's \(key)", bytes)
            }
            if !m.isRequest, fast.statusCode != m.statusCode {
                violated("fast path status \(fast.statusCode) vs \(m.statusCode)", bytes)
            }
        }

        guard m.isRequest else { return }
        checkReply(to: m, status: 400, reason: "Bad", bytes)
        checkForward(m, bytes)
        checkCancel(m, bytes)
    }

    // MARK: what the server builds from a request

    /// A reply built to `request` parses as a response with the status asked for, the
    /// request's Call-ID and CSeq, one field per Via field, From, To, Call-ID, CSeq and
    /// Content-Length.
    private mutating func checkReply(to request: SIPMessage, status: Int, reason: String, _ bytes: [UInt8]) {
        var out = MessageBuffer()
        ReplyBuilder.reply(to: request, status: status, reason: reason, into: &out)
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(out.bytes) }) {
        case .success(let reply):
            let viaFields = request.headers.filter { $0.kind == .via }.count
            if reply.isRequest || reply.statusCode != status || reply.callID != request.callID
                || reply.cseq.number != request.cseq.number || reply.cseq.method != request.cseq.method
                || reply.headers.count != viaFields + 5 || reply.vias.count != request.vias.count
            {
                let d = [
                    "status \(reply.statusCode)", "Call-ID \(reply.callID) vs \(request.callID)",
                    "CSeq \(reply.cseq.number) \(reply.cseq.method) vs \(request.cseq.number) \(request.cseq.method)",
                    "\(reply.headers.count) headers for \(viaFields) Via fields",
                    "\(reply.vias.count) Vias vs \(request.vias.count)",
                ]
                violated("reply \(status) differs from its request: \(d.joined(separator: ", "))", bytes)
            }
            if reply.to.tag == nil { violated("reply \(status) without a To tag", bytes) }
        case .failure(let e):
            violated("reply \(status) does not parse: \(e)\n  reply: \(Self.escaped(out.bytes))", bytes)
        }
    }

    /// The forwarded request: one Via more, Max-Forwards decremented (or 70 added), a
    /// Content-Length added when there was none, everything else as it came.
    private mutating func checkForward(_ m: SIPMessage, _ bytes: [UInt8]) {
        var out = MessageBuffer()
        do {
            try ForwardBuilder.forward(m, via: ViaSentBy(host: "p.example.com"), into: &out)
        } catch {
            if error != .maxForwardsExhausted || m.maxForwards != 0 { violated("forward refused: \(error)", bytes) }
            return
        }
        if m.maxForwards == 0 { violated("forwarded with Max-Forwards 0", bytes) }
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(out.bytes) }) {
        case .success(let f):
            let added = 1 + (m.maxForwards == nil ? 1 : 0) + (m.contentLength == nil ? 1 : 0)
            if let d = Self.difference(m, f, sameHeaders: false) { violated("forwarded request differs: \(d)", bytes) }
            if f.headers.count != m.headers.count + added {
                violated("forwarded request has \(f.headers.count) headers, want \(m.headers.count + added)", bytes)
            }
            if f.vias.count != m.vias.count + 1 || f.topVia.host != "p.example.com" {
                violated("forwarded request's Vias", bytes)
            }
            if f.maxForwards != (m.maxForwards.map { $0 - 1 } ?? 70) {
                violated("forwarded Max-Forwards \(String(describing: f.maxForwards))", bytes)
            }
            if f.body != m.body { violated("forwarded body differs", bytes) }
        case .failure(let e):
            violated("forwarded request does not parse: \(e)\n  forwarded: \(Self.escaped(out.bytes))", bytes)
        }
    }

    /// CANCEL for a request: same Request-URI, top Via, Call-ID and CSeq number.
    private mutating func checkCancel(_ m: SIPMessage, _ bytes: [UInt8]) {
        var out = MessageBuffer()
        do {
            try ClientRequestBuilder.cancel(for: m, into: &out)
        } catch {
            if m.method != .ack && m.method != .cancel { violated("CANCEL refused for \(m.method): \(error)", bytes) }
            return
        }
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(out.bytes) }) {
        case .success(let c):
            if c.method != .cancel || c.cseq.method != .cancel || c.callID != m.callID || c.cseq.number != m.cseq.number
                || c.requestURIString != m.requestURIString || c.vias.count != 1 || c.topVia.branch != m.topVia.branch
            {
                violated("CANCEL differs from its request", bytes)
            }
        case .failure(let e):
            violated("CANCEL does not parse: \(e)\n  CANCEL: \(Self.escaped(out.bytes))", bytes)
        }
    }

    // MARK: helpers

    /// Reads every view a server reads, so a trap anywhere shows.
    private func exerciseViews(_ m: SIPMessage) {
        _ = try? m.contact
        _ = try? m.routes
        _ = try? m.recordRoutes
        _ = try? m.contentType
        _ = m.requestURI
        _ = m.from.uri
        _ = m.to.displayName
        _ = m.topVia.rport
        _ = m.headerValues("Via")
        _ = m.isRequest ? TransactionKey(request: m) : TransactionKey(response: m)
    }

    /// The message written again from its views: start line, `name: value` per header, the
    /// empty line, the body.
    static func reserialised(_ m: SIPMessage) -> [UInt8] {
        var out = Array(m.bytes[m.startLineRange])
        out += [13, 10]
        for h in m.headers {
            out += m.bytes[h.nameRange]
            out += Array(": ".utf8)
            out += m.bytes[h.valueRange]
            out += [13, 10]
        }
        out += [13, 10]
        out += m.body
        return out
    }

    /// What differs between two parses of one message, or nil: kind, method or status,
    /// Call-ID, CSeq, and (when `sameHeaders`) the header count, names and values.
    static func difference(_ a: SIPMessage, _ b: SIPMessage, sameHeaders: Bool) -> String? {
        if a.isRequest != b.isRequest { return "request \(a.isRequest) vs \(b.isRequest)" }
        if a.isRequest ? a.method != b.method : a.statusCode != b.statusCode {
            return "method/status \(a.method) \(a.statusCode) vs \(b.method) \(b.statusCode)"
        }
        if a.callID != b.callID { return "Call-ID \(a.callID) vs \(b.callID)" }
        if a.cseq.number != b.cseq.number || a.cseq.method != b.cseq.method {
            return "CSeq \(a.cseq.number) \(a.cseq.method) vs \(b.cseq.number) \(b.cseq.method)"
        }
        guard sameHeaders else { return nil }
        if a.headers.count != b.headers.count { return "\(a.headers.count) headers vs \(b.headers.count)" }
        for (x, y) in zip(a.headers, b.headers) where a.name(of: x) != b.name(of: y) || a.value(of: x) != b.value(of: y)
        {
            return "header \(a.name(of: x)): \(a.value(of: x)) vs \(b.name(of: y)): \(b.value(of: y))"
        }
        return nil
    }
}
