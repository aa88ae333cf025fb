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
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// All values of header `name`, in order.
    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
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

import Foundation

extension HTTPResponse {
    /// Fills status, reason and headers from a header block as curl collected it: one
    /// block per response of the exchange (redirects, `100 Continue`); the last counts.
    mutating func parseHead(_ block: String) {
        let responses = block.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        guard let last = responses.last else { return }
        head = last + "\r\n\r\n"
        var lines = last.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        // "HTTP/1.1 200 OK", "HTTP/2 200"
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        if parts.count >= 3 { reason = String(parts[2]) }
        headers = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return (name, value)
        }
    }
}
