/// http_client's state in one process: its pool of curl handles (one per connection, one
/// for the URL functions), reused from call to call so that a kept-alive connection serves
/// the next task, and what the last calls leave for `http_get_redirect` and
/// `$curlredirect`. Made on first use, after fork; never shared between processes.
final class HTTPClientProcess {
    let config: HTTPClientConfig
    private var transfers: [String: CurlTransfer] = [:]
    /// Per connection: the URL its last request ended at (after redirects), "" after a
    /// failure (`http_get_redirect`).
    private var lastURLs: [String: String] = [:]
    /// Where this process's last request was redirected: the URL it ended at when redirects
    /// were followed, the Location of a redirect that was not; nil without a redirect.
    private(set) var lastRedirect: String?

    /// What a call stores and returns.
    struct Outcome {
        /// The HTTP status, curl's error code (1-99) when no response came, -1 when the
        /// request could not be made.
        var code: Int
        /// The body kept for the result variable ("" for a 5xx or a failure).
        var body: String
    }

    /// The pool's key for the URL functions (a connection name is never empty).
    private static let queryKey = ""

    init(config: HTTPClientConfig) {
        self.config = config
    }

    /// `http_get_redirect`: the URL `connection`'s last request ended at.
    func lastURL(of connection: String) -> String { lastURLs[connection] ?? "" }

    /// Sends `path` on `connection` (GET, or POST with `data`), trying its failover chain
    /// while it fails to answer or answers 5xx.
    func connect(
        _ connection: HTTPConnection, path: String, contentType: String?, data: [UInt8]?,
        log: ServerLog
    ) -> Outcome {
        var current = connection
        var tried: Set<String> = []
        while true {
            tried.insert(current.name)
            let url = current.url(appending: path)
            if let problem = HTTPURL.problem(url) {
                log.error(HTTPClientModule.name, "connection '\(current.name)': \(problem)")
                lastURLs[current.name] = ""
                return Outcome(code: -1, body: "")
            }
            var request = Self.request(url, current.settings, maxDataSize: current.settings.maxDataSize)
            request.username = current.username
            request.password = current.password
            if let data {
                request.method = "POST"
                request.body = data
                if let contentType, !contentType.isEmpty { request.headers.append("Content-Type: \(contentType)") }
            }
            let response = exchange(request, key: current.name)
            let failed = response.error != nil || response.status >= 500
            lastURLs[current.name] = response.error == nil ? response.effectiveURL : ""
            if failed, let next = current.failover, !tried.contains(next), let backup = config.connections[next] {
                log.warning(
                    HTTPClientModule.name,
                    "connection '\(current.name)' failed (\(Self.describe(response))): trying failover '\(next)'")
                current = backup
                continue
            }
            return outcome(response, url: url, firstLine: false, log: log)
        }
    }

    /// `http_client_query` and `http_client_get`: a request on a full URL with the module's
    /// settings; `firstLine` per `query_result`.
    func query(url: String, method: String?, headers: [String], body: [UInt8]?, log: ServerLog) -> Outcome {
        if let problem = HTTPURL.problem(url) {
            log.error(HTTPClientModule.name, problem)
            return Outcome(code: -1, body: "")
        }
        let settings = config.defaults
        var request = Self.request(url, settings, maxDataSize: settings.queryMaxDataSize)
        request.method = method
        request.headers = headers
        request.body = body
        let response = exchange(request, key: Self.queryKey)
        return outcome(response, url: url, firstLine: settings.queryFirstLine, log: log)
    }

    static func request(_ url: String, _ s: HTTPClientDefaults, maxDataSize: Int) -> HTTPRequest {
        var r = HTTPRequest(url: url)
        r.timeoutMs = s.timeoutSeconds * 1000
        r.followRedirects = s.followRedirects
        r.maxDataSize = maxDataSize
        r.truncateBody = true
        r.userAgent = s.userAgent.isEmpty ? nil : s.userAgent
        r.tls = s.tls
        r.authMethod = s.authMethod
        r.proxy = s.proxy
        r.proxyPort = s.proxyPort
        r.forbidReuse = !s.keepConnections
        r.netInterface = s.netInterface
        return r
    }

    /// Runs `request` on the pool's handle for `key`.
    private func exchange(_ request: HTTPRequest, key: String) -> HTTPResponse {
        var response = HTTPResponse()
        let transfer: CurlTransfer
        if let t = transfers[key] {
            transfer = t
        } else if let t = CurlTransfer() {
            transfers[key] = t
            transfer = t
        } else {
            response.error = HTTPFailure(
                kind: .other, curlCode: 27, message: "curl cannot make a handle (out of memory)")
            return response
        }
        if let failure = transfer.configure(request) {
            response.error = failure
        } else {
            response = transfer.perform()
        }
        if response.error == nil, let location = response.redirectURL {
            lastRedirect = location
        } else if response.error == nil, response.redirects > 0 {
            lastRedirect = response.effectiveURL
        } else {
            lastRedirect = nil
        }
        return response
    }

    private func outcome(_ response: HTTPResponse, url: String, firstLine: Bool, log: ServerLog) -> Outcome {
        if let failure = response.error {
            log.warning(HTTPClientModule.name, "\(url): \(failure.message) (curl error \(failure.curlCode))")
            return Outcome(code: failure.curlCode > 0 ? failure.curlCode : -1, body: "")
        }
        if response.truncated {
            log.info(
                HTTPClientModule.name,
                "\(url): the body is longer than maxdatasize, kept its first \(response.body.count) bytes")
        }
        // A script reads 0 as "stop": a status curl could not read is a failure.
        guard response.status > 0 else { return Outcome(code: -1, body: "") }
        guard response.status < 500 else { return Outcome(code: response.status, body: "") }
        var text = response.bodyText
        if firstLine, let end = text.firstIndex(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            text = String(text[..<end])
        }
        return Outcome(code: response.status, body: text)
    }

    private static func describe(_ response: HTTPResponse) -> String {
        if let failure = response.error { return failure.message }
        return "HTTP \(response.status)"
    }
}

extension ProcessContext {
    /// This process's http_client state, made on first use.
    func httpClientState() -> HTTPClientProcess {
        if let state = httpClient { return state }
        let state = HTTPClientProcess(config: HTTPClientConfig.of(program.settings))
        httpClient = state
        return state
    }
}
