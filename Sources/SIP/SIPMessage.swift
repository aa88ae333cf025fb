// The SIP target: parse, inspect and build SIP messages. Pure Swift, no I/O, no Foundation.
//
// API summary (what the server calls):
//
// Parsing
//   let msg = try SIPMessage.parse(bytes)              // throws(SIPParseError)
//   msg.isRequest, msg.method (SIPMethod), msg.requestURIString, try msg.requestURI (URIReference)
//   msg.statusCode, msg.reasonPhrase, msg.version
//   msg.vias / msg.topVia (Via: transport, host, port, branch, received, rport, params)
//   msg.from / msg.to (NameAddr: displayName, uri, tag, params), msg.callID, msg.cseq (CSeq)
//   msg.maxForwards, msg.contentLength, msg.body / msg.bodyRange
//   lazily, on each call: try msg.contact (ContactValue: .star or addresses),
//   try msg.routes, try msg.recordRoutes, try msg.contentType
//   any header: msg.headers (all fields in order, with name/value/line ranges),
//   msg.headerValue("X-Foo"), msg.headerValues("X-Foo"), msg.headerCount("X-Foo"),
//   msg.text(range) for a range's text.
// Errors
//   SIPParseError: kind, offset, answerable, partial (the message to answer from),
//   replyStatus (400/505), replyReason.
// URIs
//   SIPURI.parse("sip:alice@example.com;transport=tcp"), TelURI.parse, URIReference
// Building, into a reusable MessageBuffer
//   ReplyBuilder.reply(to:status:reason:...into:), ForwardBuilder.forward(_:via:...into:),
//   ClientRequestBuilder.cancel(for:into:), ClientRequestBuilder.ack(for:response:into:)
// Transactions
//   TransactionKey(request:), TransactionKey(response:), key.hash (stable FNV-1a),
//   key.inviteKey (CANCEL -> INVITE), TransactionKey.fast(bytes) (first line + key only).
//
// Every message keeps the received `[UInt8]` and refers to it by ranges: nothing is
// copied at parse time, text is made on demand. Only what every message needs is parsed
// eagerly (start line, Via, From, To, Call-ID, CSeq, Content-Length, Max-Forwards); other
// headers are only located, and parsed when asked for.

/// A parsed SIP request or response (RFC 3261 7), as ranges into the received bytes.
public struct SIPMessage: Sendable {
    /// Limits that bound the parser's work on hostile input.
    public enum Limits {
        /// Largest message accepted, in bytes (the UDP maximum).
        public static let maxMessageSize = 65535
        /// Most header fields accepted.
        public static let maxHeaders = 512
        /// Longest header field (folds included) or start line, in bytes.
        public static let maxLineLength = 8192
    }

    /// The received bytes, as given to `parse`.
    public let bytes: [UInt8]
    public let isRequest: Bool
    /// The request's method; for a response, the method of its CSeq.
    public let method: SIPMethod
    /// The request method token's range (request) or status code's range (response).
    public let methodRange: Range<Int>
    /// The Request-URI's range; empty for a response.
    public let requestURIRange: Range<Int>
    /// The `SIP/2.0` token's range.
    public let versionRange: Range<Int>
    /// The status code; 0 for a request.
    public let statusCode: Int
    /// The reason phrase's range; empty for a request.
    public let reasonRange: Range<Int>
    /// The start line's range without its line end.
    public let startLineRange: Range<Int>
    /// Every header field in order of appearance.
    public let headers: [HeaderField]
    /// Where the empty line ending the headers starts: where new headers are inserted.
    public let headersEnd: Int
    /// The body: Content-Length bytes after the empty line (or the rest without one).
    public let bodyRange: Range<Int>
    /// Every Via value in order, top first, across all Via fields.
    public let vias: [Via]
    public let from: NameAddr
    public let to: NameAddr
    public let callIDRange: Range<Int>
    public let cseq: CSeq
    /// Max-Forwards, nil when absent.
    public let maxForwards: Int?
    /// Content-Length as given, nil when absent.
    public let contentLength: Int?

    /// The top (first) Via.
    public var topVia: Via { vias[0] }
    public var callID: String { text(callIDRange) }
    public var version: String { text(versionRange) }
    public var requestURIString: String { text(requestURIRange) }
    public var reasonPhrase: String { text(reasonRange) }
    /// The body bytes (a copy); use `bodyRange` to avoid it.
    public var body: [UInt8] { Array(bytes[bodyRange]) }

    /// The Request-URI, parsed on demand.
    public var requestURI: URIReference { URIReference(base: bytes, range: requestURIRange) }

    /// The text of `bytes[range]`, with folded lines joined by one space.
    public func text(_ range: Range<Int>) -> String {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return "" }
        return unfoldedString(bytes, range)
    }

    /// A header field's name as written.
    public func name(of field: HeaderField) -> String { text(field.nameRange) }
    /// A header field's value (folds joined).
    public func value(of field: HeaderField) -> String { text(field.valueRange) }
}
