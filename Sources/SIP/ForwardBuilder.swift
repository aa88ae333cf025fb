/// One change a proxy makes to a request it forwards.
public enum ForwardEdit: Sendable {
    /// Replaces the Request-URI (RFC 3261 16.6 step 2).
    case setRequestURI(String)
    /// Removes one header field of the original request (e.g. a Route it consumed).
    case remove(HeaderField)
    /// Removes every field named `name` (compact forms included).
    case removeAll(named: String)
    /// Adds `name: value` after the new Via, before the original headers.
    case addFirst(name: String, value: String)
    /// Adds `name: value` above the new Via, as Kamailio writes a Record-Route.
    case addTop(name: String, value: String)
    /// Removes these bytes of the original request (a Route entry inside a list; the
    /// range must lie within the headers).
    case cut(Range<Int>)
    /// Adds `name: value` after the original headers.
    case addLast(name: String, value: String)
    /// Replaces these bytes of the original request with `text` (inserts it where the
    /// range is empty); the range must lie within the headers (textopsx's header-value
    /// edits).
    case replace(Range<Int>, String)
    /// The request came from `host` (an IP address, no brackets) and `port`: the received
    /// Via gets `received=host` when its sent-by names another host (RFC 3261 18.2.1), and,
    /// when it asks for `rport`, `received` and `rport=port` (RFC 3581 4).
    case receivedFrom(host: String, port: Int)
    /// As `.receivedFrom`, and the Via gets `rport=port` even when it did not ask for it
    /// (the core's `force_rport()`).
    case receivedFromForcingRPort(host: String, port: Int)
}

/// The sent-by of the Via a proxy adds: `SIP/2.0/<transport> <host>[:<port>]`.
public struct ViaSentBy: Sendable {
    public var transport: String
    public var host: String
    public var port: Int?
    /// Extra Via parameters after the branch, e.g. `"rport"`; written as given.
    public var extraParams: [String]

    public init(transport: String = "UDP", host: String, port: Int? = nil, extraParams: [String] = []) {
        self.transport = transport
        self.host = host
        self.port = port
        self.extraParams = extraParams
    }
}

/// Builds a request forwarded by a proxy (RFC 3261 16.6): a new top Via, Max-Forwards
/// decremented (or 70 added), and the caller's edits, written as splices over the
/// original bytes so every untouched header goes out exactly as it came in.
public enum ForwardBuilder {
    /// Writes the forwarded request into `out` (reset first). `branch` must carry the
    /// magic cookie; when nil one is generated from the request's transaction key and the
    /// new Request-URI (RFC 3261 16.11), so the same request forwarded the same way gets
    /// the same branch. Throws `.maxForwardsExhausted` when Max-Forwards is 0. A request
    /// without Max-Forwards gets `maxForwardsWhenAbsent` (70 by default; maxfwd's
    /// `mf_process_maxfwd_header(n)` asks for n).
    public static func forward(
        _ request: SIPMessage, via sentBy: ViaSentBy, branch: String? = nil,
        edits: [ForwardEdit] = [], maxForwardsWhenAbsent: Int = 70, into out: inout MessageBuffer
    ) throws(SIPBuildError) {
        guard request.isRequest else { throw .wrongMessage("not a request") }
        if request.maxForwards == 0 { throw .maxForwardsExhausted }
        let bytes = request.bytes
        let firstHeader = request.headers.first?.lineRange.lowerBound ?? request.headersEnd

        // (range of the original replaced, replacement, creation order)
        var splices: [(range: Range<Int>, text: [UInt8], order: Int)] = []
        func splice(_ r: Range<Int>, _ text: [UInt8]) { splices.append((r, text, splices.count)) }

        var newURI: [UInt8]? = nil
        var firsts: [UInt8] = []
        var tops: [UInt8] = []
        var lasts: [UInt8] = []
        for edit in edits {
            switch edit {
            case .setRequestURI(let s):
                newURI = Array(s.utf8)
            case .remove(let h):
                if h.lineRange.upperBound <= request.headersEnd { splice(h.lineRange, []) }
            case .removeAll(let name):
                for h in request.fields(named: name) { splice(h.lineRange, []) }
            case .addFirst(let name, let value):
                firsts.append(contentsOf: Array("\(name): \(value)\r\n".utf8))
            case .addTop(let name, let value):
                tops.append(contentsOf: Array("\(name): \(value)\r\n".utf8))
            case .cut(let r):
                if r.lowerBound >= firstHeader && r.upperBound <= request.headersEnd { splice(r, []) }
            case .addLast(let name, let value):
                lasts.append(contentsOf: Array("\(name): \(value)\r\n".utf8))
            case .replace(let r, let text):
                if r.lowerBound >= firstHeader && r.upperBound <= request.headersEnd { splice(r, Array(text.utf8)) }
            case .receivedFrom(let host, let port):
                markReceived(request.topVia, in: bytes, host: host, port: port, splice)
            case .receivedFromForcingRPort(let host, let port):
                markReceived(request.topVia, in: bytes, host: host, port: port, forceRPort: true, splice)
            }
        }
        if let newURI { splice(request.requestURIRange, newURI) }

        var top = MessageBuffer(capacity: 128)
        top.append(tops)
        top.appendStatic("Via: SIP/2.0/")
        top.append(sentBy.transport)
        top.append(byte: ASCII.sp)
        top.append(sentBy.host)
        if let port = sentBy.port {
            top.append(byte: ASCII.colon)
            top.appendDecimal(port)
        }
        top.appendStatic(";branch=")
        if let branch {
            top.append(branch)
        } else {
            top.append(generatedBranch(for: request, newURI: newURI))
        }
        for p in sentBy.extraParams {
            top.append(byte: ASCII.semicolon)
            top.append(p)
        }
        top.appendCRLF()
        if let mf = request.maxForwards,
           let field = request.headers.first(where: { $0.kind == .maxForwards }) {
            var v = MessageBuffer(capacity: 4)
            v.appendDecimal(mf - 1)
            splice(field.valueRange, v.bytes)
        } else {
            top.appendStatic("Max-Forwards: ")
            top.appendDecimal(maxForwardsWhenAbsent)
            top.appendCRLF()
        }
        top.append(firsts)
        splice(firstHeader..<firstHeader, top.bytes)
        if request.contentLength == nil {
            lasts.append(contentsOf: Array("Content-Length: \(request.bodyRange.count)\r\n".utf8))
        }
        splice(request.headersEnd..<request.headersEnd, lasts)

        // At one offset insertions go before a removal starting there, else in given order.
        splices.sort { a, b in
            if a.range.lowerBound != b.range.lowerBound { return a.range.lowerBound < b.range.lowerBound }
            if a.range.isEmpty != b.range.isEmpty { return a.range.isEmpty }
            return a.order < b.order
        }
        out.reset()
        var cursor = request.startLineRange.lowerBound
        for s in splices {
            // A removal overlapping the one before removes the rest of its range too.
            if s.range.lowerBound < cursor {
                guard s.range.upperBound > cursor else { continue }
                out.append(s.text)
                cursor = s.range.upperBound
                continue
            }
            out.append(bytes[cursor..<s.range.lowerBound])
            out.append(s.text)
            cursor = s.range.upperBound
        }
        if cursor < request.bodyRange.upperBound { out.append(bytes[cursor..<request.bodyRange.upperBound]) }
    }

    /// The splices of `.receivedFrom`: `;received=` right after the sent-by (before the
    /// first parameter, as Kamailio writes it), `=port` after a valueless `rport`.
    static func markReceived(_ via: Via, in bytes: [UInt8], host: String, port: Int, forceRPort: Bool = false,
                             _ splice: (Range<Int>, [UInt8]) -> Void) {
        let rport = via.params.entry("rport")
        let asksRPort = rport != nil && rport?.value == nil
        // force_rport on a Via without rport: `;rport=port` where `;received` goes (no
        // received for it alone: Kamailio 5.6 writes none when the host matches).
        let addsRPort = forceRPort && rport == nil
        var sentBy = Substring(via.host)
        if sentBy.first == "[" && sentBy.last == "]" { sentBy = sentBy.dropFirst().dropLast() }
        // Before the ';' that opens the first parameter, else at the end of the via-parm.
        var at = via.valueRange.upperBound
        if let first = via.params.entries.first {
            at = first.name.lowerBound
            while at > via.valueRange.lowerBound && bytes[at - 1] != UInt8(ascii: ";") { at -= 1 }
            at = max(at - 1, via.valueRange.lowerBound)
        }
        if (asksRPort || sentBy != host) && !via.params.contains("received") {
            splice(at..<at, Array(";received=\(host)".utf8))
        }
        if addsRPort { splice(at..<at, Array(";rport=\(port)".utf8)) }
        if asksRPort, let r = rport { splice(r.name.upperBound..<r.name.upperBound, Array("=\(port)".utf8)) }
    }

    /// A magic-cookie branch derived from the request's transaction key and new R-URI.
    public static func generatedBranch(for request: SIPMessage, newURI: [UInt8]? = nil) -> String {
        var key = TransactionKey(request: request).bytes
        key.append(contentsOf: newURI ?? Array(request.bytes[request.requestURIRange]))
        var b = MessageBuffer(capacity: 32)
        b.appendStatic("z9hG4bK")
        b.appendHex(TransactionKey.fnv1a(key))
        return String(decoding: b.bytes, as: UTF8.self)
    }
}
