import SIP
import Shared

/// Builds the requests a run sends: request number `n` is a new dialog-less transaction
/// with its own Call-ID, From tag and Via branch, all derived from `n` and a per-run nonce,
/// so any field can be rebuilt later from the number alone (the ACK needs that).
///
/// Each message is rendered from a template split at the places where `n` goes, so a
/// request costs a few appends and no formatting. OPTIONS comes out near 400 bytes, INVITE
/// (with an SDP offer) near 900, like the requests real user agents send.
struct RequestFactory: Sendable {
    let method: SIPMethod
    /// The Request-URI every request carries.
    let requestURI: String
    /// `z9hG4bK` (RFC 3261 magic cookie), the nonce and a dot; the number follows.
    let branchPrefix: String
    /// The request template, cut where the request number goes.
    private let chunks: [[UInt8]]
    private let local: SocketAddress
    private let nonce: String

    /// - Parameters:
    ///   - method: what to send; ACK and CANCEL are refused earlier, by the options.
    ///   - requestURI: the Request-URI (and the To URI).
    ///   - local: the bound address, for Via, From and Contact.
    ///   - nonce: distinguishes this run's Call-IDs and branches from any earlier run's.
    init(method: SIPMethod, requestURI: String, local: SocketAddress, nonce: UInt32) {
        self.method = method
        self.requestURI = requestURI
        self.local = local
        let nonceText = String(nonce, radix: 16)
        self.nonce = nonceText
        branchPrefix = "z9hG4bK" + nonceText + "."
        let template = RequestFactory.template(method: method, requestURI: requestURI, local: local, nonce: nonceText)
        chunks = template.split(separator: "{n}", omittingEmptySubsequences: false).map { Array($0.utf8) }
    }

    /// Writes request number `n` into `out` (emptied first).
    func request(_ n: UInt64, into out: inout MessageBuffer) {
        out.reset()
        for (i, chunk) in chunks.enumerated() {
            if i > 0 { out.appendDecimal(Int(n)) }
            out.append(chunk)
        }
    }

    /// The client transaction key replies to request `n` carry (branch + CSeq method).
    func key(_ n: UInt64) -> TransactionKey {
        TransactionKey.client(branch: branchPrefix + String(n), method: method)
    }

    /// Writes the ACK for a final `response` to INVITE number `n` into `out`.
    ///
    /// A non-2xx reply is acknowledged inside the INVITE transaction (RFC 3261 17.1.1.3:
    /// same branch); a 2xx by a new transaction of the dialog (13.2.2.4: new branch). Both
    /// take the reply's To, with the tag the server chose. The 2xx ACK goes to the
    /// Request-URI rather than the reply's Contact: no dialog is kept, the server only
    /// needs to see its transaction end.
    func ack(_ n: UInt64, response: SIPMessage, into out: inout MessageBuffer) {
        let success = response.statusCode < 300
        out.reset()
        out.append("ACK " + requestURI + " SIP/2.0\r\nVia: SIP/2.0/UDP \(local);branch=" + branchPrefix)
        out.appendDecimal(Int(n))
        if success { out.append(".ack") }
        out.append(";rport\r\nMax-Forwards: 70\r\nFrom: <sip:stress@\(local)>;tag=" + nonce + "-")
        out.appendDecimal(Int(n))
        out.append("\r\nTo: ")
        out.append(response.bytes[response.to.valueRange])
        out.append("\r\nCall-ID: " + nonce + "-")
        out.appendDecimal(Int(n))
        out.append("@\(local.host)\r\nCSeq: 1 ACK\r\nUser-Agent: respite-stress\r\nContent-Length: 0\r\n\r\n")
    }

    /// The whole request as text, `{n}` standing for the request number.
    private static func template(method: SIPMethod, requestURI: String, local: SocketAddress, nonce: String) -> String {
        let name = method.name
        let body = RequestFactory.body(for: method, local: local)
        var t = name + " " + requestURI + " SIP/2.0\r\n"
        t += "Via: SIP/2.0/UDP \(local);branch=z9hG4bK\(nonce).{n};rport\r\n"
        t += "Max-Forwards: 70\r\n"
        t += "From: <sip:stress@\(local)>;tag=\(nonce)-{n}\r\n"
        t += "To: <" + requestURI + ">\r\n"
        t += "Call-ID: \(nonce)-{n}@\(local.host)\r\n"
        t += "CSeq: 1 " + name + "\r\n"
        t += "Contact: <sip:stress@\(local)>\r\n"
        switch method {
        case .invite:
            t += "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
            t += "Supported: replaces, timer, 100rel\r\n"
            t += "Session-Expires: 1800\r\nMin-SE: 90\r\n"
            t += "Accept: application/sdp\r\n"
        case .options:
            t += "Accept: application/sdp\r\n"
            t += "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, MESSAGE\r\n"
        default:
            t += "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, MESSAGE\r\n"
        }
        t += "User-Agent: respite-stress/1.0\r\n"
        if let body {
            t += "Content-Type: " + body.type + "\r\n"
            t += "Content-Length: \(body.text.utf8.count)\r\n\r\n" + body.text
        } else {
            t += "Content-Length: 0\r\n\r\n"
        }
        return t
    }

    /// The body a method carries: an SDP offer for INVITE, a short text for MESSAGE.
    private static func body(for method: SIPMethod, local: SocketAddress) -> (type: String, text: String)? {
        switch method {
        case .invite:
            let address = (local.family == .ipv4 ? "IP4 " : "IP6 ") + local.host
            let sdp = "v=0\r\n" +
                "o=stress 2890844526 2890844526 IN \(address)\r\n" +
                "s=respite-stress call\r\n" +
                "c=IN \(address)\r\n" +
                "t=0 0\r\n" +
                "m=audio 49170 RTP/AVP 0 8 9 18 101\r\n" +
                "a=rtpmap:0 PCMU/8000\r\n" +
                "a=rtpmap:8 PCMA/8000\r\n" +
                "a=rtpmap:9 G722/8000\r\n" +
                "a=rtpmap:18 G729/8000\r\n" +
                "a=fmtp:18 annexb=no\r\n" +
                "a=rtpmap:101 telephone-event/8000\r\n" +
                "a=fmtp:101 0-16\r\n" +
                "a=ptime:20\r\n" +
                "a=sendrecv\r\n"
            return ("application/sdp", sdp)
        case .message:
            return ("text/plain", "Hello from respite-stress: a short instant message body.\r\n")
        default:
            return nil
        }
    }
}
