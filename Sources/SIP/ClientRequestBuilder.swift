/// Builds the requests a client transaction sends on its own: CANCEL (RFC 3261 9.1) and
/// the ACK for a non-2xx final response (17.1.1.3).
public enum ClientRequestBuilder {
    /// CANCEL for `request` (a request this element sent): same Request-URI, Call-ID,
    /// From, To and CSeq number with method CANCEL, the request's top Via only (same
    /// branch), its Route fields, Max-Forwards 70, no body.
    public static func cancel(for request: SIPMessage, into out: inout MessageBuffer) throws(SIPBuildError) {
        guard request.isRequest else { throw .wrongMessage("not a request") }
        guard request.method != .ack, request.method != .cancel else { throw .wrongMessage("cannot cancel \(request.method)") }
        write(method: "CANCEL", request: request, to: request, into: &out)
    }

    /// ACK for a non-2xx final `response` to `request` (an INVITE this element sent): the
    /// INVITE's Request-URI, top Via, From, Call-ID, CSeq number and Route fields, and the
    /// response's To (with its tag).
    public static func ack(for request: SIPMessage, response: SIPMessage, into out: inout MessageBuffer) throws(SIPBuildError) {
        guard request.isRequest, request.method == .invite else { throw .wrongMessage("not an INVITE") }
        guard !response.isRequest, response.statusCode >= 300 else { throw .wrongMessage("not a non-2xx final response") }
        write(method: "ACK", request: request, to: response, into: &out)
    }

    private static func write(method: StaticString, request: SIPMessage, to toSource: SIPMessage, into out: inout MessageBuffer) {
        out.reset()
        out.appendStatic(method)
        out.append(byte: ASCII.sp)
        out.append(request.bytes[request.requestURIRange])
        out.appendStatic(" SIP/2.0\r\n")
        out.appendHeader("Via", from: request, request.topVia.valueRange)
        for h in request.headers where h.kind == .route {
            out.appendHeader("Route", from: request, h.valueRange)
        }
        out.appendStatic("Max-Forwards: 70\r\n")
        out.appendHeader("From", from: request, request.from.valueRange)
        out.appendHeader("To", from: toSource, toSource.to.valueRange)
        out.appendHeader("Call-ID", from: request, request.callIDRange)
        out.appendStatic("CSeq: ")
        out.appendDecimal(Int(request.cseq.number))
        out.append(byte: ASCII.sp)
        out.appendStatic(method)
        out.appendStatic("\r\nContent-Length: 0\r\n\r\n")
    }
}
