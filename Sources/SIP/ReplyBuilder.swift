/// Builds replies to a request per RFC 3261 8.2.6.
public enum ReplyBuilder {
    /// Writes a reply to `request` into `out` (which is reset first).
    ///
    /// Copies every Via field in order, From, To, Call-ID and CSeq; adds a To tag when the
    /// request's To has none and `status` > 100 (`toTag`, or `generatedTag` when nil);
    /// copies Timestamp into a 100 (8.2.6.1); then `extraHeaders` in order (a `Server:`,
    /// a `Content-Type`, ... as the caller wants), then Content-Length and `body`.
    /// Works on the `partial` message of an answerable `SIPParseError` too.
    public static func reply(
        to request: SIPMessage, status: Int, reason: String, toTag: String? = nil,
        tagSeed: UInt64 = 0, extraHeaders: [(name: String, value: String)] = [],
        body: [UInt8] = [], into out: inout MessageBuffer
    ) {
        out.reset()
        out.appendStatic("SIP/2.0 ")
        out.appendDecimal(min(max(status, 100), 699))
        out.append(byte: ASCII.sp)
        out.append(reason)
        out.appendCRLF()
        for h in request.headers where h.kind == .via {
            out.appendHeader("Via", from: request, h.valueRange)
        }
        out.appendHeader("From", from: request, request.from.valueRange)
        out.appendStatic("To: ")
        out.append(request.bytes[request.to.valueRange])
        if request.to.tagRange == nil, status > 100 {
            out.appendStatic(";tag=")
            if let toTag {
                out.append(toTag)
            } else {
                out.appendHex(generatedTagValue(for: request, seed: tagSeed))
            }
        }
        out.appendCRLF()
        out.appendHeader("Call-ID", from: request, request.callIDRange)
        out.appendStatic("CSeq: ")
        out.appendDecimal(Int(request.cseq.number))
        out.append(byte: ASCII.sp)
        out.append(request.bytes[request.cseq.methodRange])
        out.appendCRLF()
        if status == 100, let ts = request.headers.first(where: { $0.kind == .timestamp }) {
            out.appendHeader("Timestamp", from: request, ts.valueRange)
        }
        for h in extraHeaders { out.appendHeader(h.name, h.value) }
        out.appendStatic("Content-Length: ")
        out.appendDecimal(body.count)
        out.appendCRLF()
        out.appendCRLF()
        out.append(body)
    }

    /// The To tag a reply gets when the caller gives none: hex of a stable hash of the
    /// request's Call-ID, From tag and top branch mixed with `seed`, so every process
    /// answering the same request (a retransmission) picks the same tag. Give a
    /// per-server random `seed` to keep tags unguessable.
    public static func generatedTag(for request: SIPMessage, seed: UInt64 = 0) -> String {
        var b = MessageBuffer(capacity: 16)
        b.appendHex(generatedTagValue(for: request, seed: seed))
        return String(decoding: b.bytes, as: UTF8.self)
    }

    static func generatedTagValue(for request: SIPMessage, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        func mix(_ r: Range<Int>?) {
            guard let r else { return }
            for k in r {
                h ^= UInt64(request.bytes[k])
                h = h &* 0x0000_0100_0000_01b3
            }
            h ^= 0xff
            h = h &* 0x0000_0100_0000_01b3
        }
        mix(request.callIDRange)
        mix(request.from.tagRange)
        mix(request.topVia.branchRange)
        mix(request.topVia.valueRange)
        return h
    }
}
