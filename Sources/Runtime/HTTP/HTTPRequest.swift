/// One HTTP request as the http modules describe it to curl: what to send and the limits
/// of the exchange. Built by `http_client` (blocking, in the process that calls it) and by
/// `http_async_client` (encoded into the arena and sent by an HTTP worker).
struct HTTPRequest: Equatable, Sendable {
    var url: String
    /// GET, POST, PUT, DELETE...; nil lets curl choose (GET, or POST when there is a body).
    var method: String?
    /// Header lines as sent ("Name: value").
    var headers: [String] = []
    var body: [UInt8]?
    /// The whole exchange, in milliseconds (0: no limit).
    var timeoutMs: Int = 0
    /// Connecting only, in milliseconds (0: curl's default).
    var connectTimeoutMs: Int = 0
    var followRedirects = false
    /// Response bodies longer than this end the transfer with an error (0: no cap).
    var maxDataSize: Int = 0
    /// Keep the first `maxDataSize` bytes of a longer body and read the rest to the end
    /// without keeping it, instead of failing (http_client's behaviour, as Kamailio's);
    /// `HTTPResponse.truncated` tells it happened.
    var truncateBody = false
    var userAgent: String?
    var tls = HTTPTLSSettings()
    /// CURLAUTH_* bits (1 basic, 2 digest, 4 negotiate, 8 NTLM...); used with `username`.
    var authMethod: Int = 3
    var username: String?
    var password: String?
    var proxy: String?
    var proxyPort: Int = 0
    /// Close the connection after the exchange instead of keeping it for the next one.
    var forbidReuse = false
    /// TCP keepalive probes on the connection, after `tcpKeepIdle` seconds idle, every
    /// `tcpKeepInterval` seconds (0: the system's).
    var tcpKeepAlive = false
    var tcpKeepIdle = 0
    var tcpKeepInterval = 0
    /// The local interface or address to send from (curl's CURLOPT_INTERFACE).
    var netInterface: String?
}

/// TLS settings of an HTTPS request (curl's names in comments).
struct HTTPTLSSettings: Equatable, Sendable {
    var verifyPeer = true        // CURLOPT_SSL_VERIFYPEER
    var verifyHost = 2           // CURLOPT_SSL_VERIFYHOST
    var version = 0              // CURLOPT_SSLVERSION (0: curl's default)
    var caCertFile: String?      // CURLOPT_CAINFO
    var caPath: String?          // CURLOPT_CAPATH
    var clientCert: String?      // CURLOPT_SSLCERT
    var clientKey: String?       // CURLOPT_SSLKEY
    var cipherList: String?      // CURLOPT_SSL_CIPHER_LIST
}

/// What came back: the last response of the exchange (after redirects), or why none did.
struct HTTPResponse: Sendable {
    /// The HTTP status, 0 when no response arrived.
    var status = 0
    var reason = ""
    /// Header lines of the last response, in order.
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    /// The raw header block of the last response (status line included).
    var head = ""
    /// The URL of the last request made (differs from the request's after redirects).
    var effectiveURL = ""
    /// Where the last response pointed (its Location), when it was a redirect not followed.
    var redirectURL: String?
    /// How many redirects were followed.
    var redirects = 0
    var contentType: String?
    /// Why the exchange failed, nil when a response arrived in full.
    var error: HTTPFailure?
    /// The body was cut at the request's `maxDataSize` (`truncateBody`).
    var truncated = false

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first value of header `name` (case-insensitive), or nil.
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// All values of header `name`, in order.
    func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }
}

/// A failed exchange: curl's error code and its message, or Respite's own reason.
struct HTTPFailure: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case timedOut
        case connectFailed
        case tooLarge
        case badURL
        case other
    }
    var kind: Kind
    /// curl's code (CURLcode), 0 for a failure found before curl ran.
    var curlCode: Int
    var message: String
}

extension HTTPResponse {
    /// Fills status, reason and headers from a header block as curl collected it: one
    /// block per response of the exchange (redirects, `100 Continue`); the last counts.
    /// Scans bytes (an Http Worker parses one per query; Foundation's string splitting was
    /// a fifth of its time).
    mutating func parseHead(_ block: UnsafeBufferPointer<UInt8>) {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        // The last block: after the last blank line that is not the block's own end.
        var end = block.count
        while end > 0 && (block[end - 1] == cr || block[end - 1] == lf) { end -= 1 }
        guard end > 0 else { return }
        var start = 0
        var i = end - 1
        while i >= 3 {
            if block[i] == lf && block[i - 1] == cr && block[i - 2] == lf && block[i - 3] == cr { start = i + 1; break }
            i -= 1
        }
        let last = UnsafeBufferPointer(rebasing: block[start..<end])
        head = String(decoding: last, as: UTF8.self) + "\r\n\r\n"
        headers = []
        var lineStart = 0, first = true
        func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        func text(_ from: Int, _ to: Int) -> String {
            var a = from, b = to
            while a < b && isBlank(last[a]) { a += 1 }
            while b > a && isBlank(last[b - 1]) { b -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: last[a..<b]), as: UTF8.self)
        }
        for j in 0...last.count where j == last.count || last[j] == lf {
            var lineEnd = j
            if lineEnd > lineStart && last[lineEnd - 1] == cr { lineEnd -= 1 }
            defer { lineStart = j + 1 }
            guard lineEnd > lineStart else { continue }
            if first {
                // "HTTP/1.1 200 OK", "HTTP/2 200": the reason is what follows the second space.
                first = false
                var spaces = 0, k = lineStart
                while k < lineEnd && spaces < 2 {
                    if last[k] == UInt8(ascii: " ") { spaces += 1 }
                    k += 1
                }
                if spaces == 2 { reason = text(k, lineEnd) }
                continue
            }
            guard let colon = (lineStart..<lineEnd).first(where: { last[$0] == UInt8(ascii: ":") }) else { continue }
            headers.append((text(lineStart, colon), text(colon + 1, lineEnd)))
        }
    }
}
