import SIP

/// Writing the script's pending edits into the message itself, as Kamailio's
/// `msg_apply_changes` does with its lumps, and changing a reply's status line
/// (`change_reply_status`). Both replace `MessageContext.message` with the rewritten
/// message, parsed again, so later functions see the change. Process-local: the message
/// and its edits belong to the receiver handling it; nothing here touches the arena.
extension MessageContext {
    /// The message's bytes with the pending edits written in: the new Request-URI (a
    /// request), `remove_hf` removals, textopsx's header-value splices, the Route entries
    /// `loose_route()` consumed and the Route it appends, and `append_hf` lines after the
    /// last header. Where removals overlap, their union goes; an insertion inside a removed
    /// range is dropped. The Via and Max-Forwards stay as received.
    func bytesWithPendingChanges() -> [UInt8] {
        let m = message
        var splices: [(range: Range<Int>, text: [UInt8], order: Int)] = []
        func splice(_ r: Range<Int>, _ text: [UInt8]) {
            guard r.lowerBound >= 0, r.upperBound <= m.headersEnd else { return }
            splices.append((r, text, splices.count))
        }
        if m.isRequest, let uri = edits.requestURI { splice(m.requestURIRange, Array(uri.utf8)) }
        for name in edits.removedHeaders.sorted() {
            for field in m.fields(named: name) { splice(field.lineRange, []) }
        }
        for s in edits.splices { splice(s.range, Array(s.text.utf8)) }
        if m.isRequest { for cut in edits.rr.cuts { splice(cut, []) } }
        var appended: [UInt8] = []
        for line in edits.appendedHeaders {
            appended += Array(line.utf8)
            if !line.hasSuffix("\n") { appended += [13, 10] }
        }
        if m.isRequest, let route = edits.rr.appendedRoute { appended += Array("Route: \(route)\r\n".utf8) }
        if !appended.isEmpty { splice(m.headersEnd..<m.headersEnd, appended) }

        // At one offset insertions go before a removal starting there, else in call order.
        splices.sort { a, b in
            if a.range.lowerBound != b.range.lowerBound { return a.range.lowerBound < b.range.lowerBound }
            if a.range.isEmpty != b.range.isEmpty { return a.range.isEmpty }
            return a.order < b.order
        }
        var out: [UInt8] = []
        out.reserveCapacity(m.bytes.count + appended.count + 64)
        var cursor = 0
        for s in splices {
            if s.range.lowerBound < cursor {
                guard s.range.upperBound > cursor else { continue }
                out += s.text
                cursor = s.range.upperBound
                continue
            }
            out += m.bytes[cursor..<s.range.lowerBound]
            out += s.text
            cursor = s.range.upperBound
        }
        out += m.bytes[cursor...]
        return out
    }

    /// Writes the pending edits into the message (`bytesWithPendingChanges`) and clears
    /// them, so they are not applied twice when the message leaves. Returns false, leaving
    /// the message and its edits as they were, when the result does not parse (a broken
    /// `append_hf` line, say).
    func applyPendingChanges() -> Bool {
        guard edits.hasPendingMessageChanges else { return true }
        guard let parsed = try? SIPMessage.parse(bytesWithPendingChanges()) else { return false }
        message = parsed
        if parsed.isRequest {
            edits.requestURI = nil
            edits.rr.cuts = []
            edits.rr.appendedRoute = nil
        }
        edits.appendedHeaders = []
        edits.removedHeaders = []
        edits.splices = []
        return true
    }

    /// A reply's status line becomes `SIP/2.0 code reason`; the pending splices move with
    /// the bytes after it. Returns false, changing nothing, when the result does not parse.
    func changeStatus(_ code: Int, reason: String) -> Bool {
        let m = message
        guard !m.isRequest else { return false }
        let old = m.methodRange.lowerBound..<max(m.methodRange.upperBound, m.reasonRange.upperBound)
        let text = Array("\(code) \(reason)".utf8)
        var bytes = m.bytes
        bytes.replaceSubrange(old, with: text)
        guard let parsed = try? SIPMessage.parse(bytes) else { return false }
        let delta = text.count - old.count
        edits.splices = edits.splices.map { s in
            ScriptEdits.Splice(range: (s.range.lowerBound + delta)..<(s.range.upperBound + delta), text: s.text)
        }
        message = parsed
        return true
    }
}
