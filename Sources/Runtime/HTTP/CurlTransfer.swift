import CCurl

/// One curl easy handle with its response buffers, reused from request to request so that
/// curl keeps its connections alive (one per process for `http_client`, one per running
/// query in an HTTP worker). Not shared between processes: created after fork.
final class CurlTransfer {
    let handle: UnsafeMutableRawPointer
    private var body = rc_buffer()
    private var head = rc_buffer()
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    /// The request being run, for the response.
    private(set) var request: HTTPRequest?

    /// nil when curl cannot make a handle (out of memory).
    init?() {
        CurlGlobal.initialize()
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        rc_buffer_free(&body)
        rc_buffer_free(&head)
        errorText.deallocate()
    }

    /// Sets the handle up for `request`; a failure here (a URL curl refuses) is the
    /// exchange's failure, with nothing sent.
    func configure(_ request: HTTPRequest) -> HTTPFailure? {
        // Reset keeps the connection cache: the next request to the same host reuses it.
        curl_easy_reset(handle)
        curl_slist_free_all(headerList)
        headerList = nil
        trimBuffers()
        rc_buffer_reset(&body)
        rc_buffer_reset(&head)
        body.max = request.maxDataSize > 0 ? request.maxDataSize : 0
        body.truncate = request.truncateBody ? 1 : 0
        errorText[0] = 0
        self.request = request

        var code = rc_easy_string(handle, CURLOPT_URL, request.url)
        func set(_ option: CURLoption, _ value: Int) { if code == CURLE_OK { code = rc_easy_long(handle, option, value) } }
        func set(_ option: CURLoption, _ value: String?) {
            if code == CURLE_OK, let value { code = rc_easy_string(handle, option, value) }
        }
        code = code == CURLE_OK ? rc_easy_pointer(handle, CURLOPT_ERRORBUFFER, errorText) : code
        code = code == CURLE_OK ? rc_easy_collect(handle, &body, &head) : code
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_TIMEOUT_MS, request.timeoutMs)
        if request.connectTimeoutMs > 0 { set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs) }
        set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        if request.followRedirects { set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https") }
        set(CURLOPT_MAXREDIRS, 10)
        if request.maxDataSize > 0 && !request.truncateBody { code = code == CURLE_OK ? rc_easy_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxDataSize)) : code }
        set(CURLOPT_USERAGENT, request.userAgent)
        set(CURLOPT_FORBID_REUSE, request.forbidReuse ? 1 : 0)
        set(CURLOPT_INTERFACE, request.netInterface)
        if request.tcpKeepAlive {
            set(CURLOPT_TCP_KEEPALIVE, 1)
            if request.tcpKeepIdle > 0 { set(CURLOPT_TCP_KEEPIDLE, request.tcpKeepIdle) }
            if request.tcpKeepInterval > 0 { set(CURLOPT_TCP_KEEPINTVL, request.tcpKeepInterval) }
        }
        if let proxy = request.proxy {
            set(CURLOPT_PROXY, proxy)
            if request.proxyPort > 0 { set(CURLOPT_PROXYPORT, request.proxyPort) }
        }
        if let user = request.username {
            set(CURLOPT_USERNAME, user)
            set(CURLOPT_PASSWORD, request.password ?? "")
            set(CURLOPT_HTTPAUTH, request.authMethod)
        }
        let tls = request.tls
        set(CURLOPT_SSL_VERIFYPEER, tls.verifyPeer ? 1 : 0)
        set(CURLOPT_SSL_VERIFYHOST, tls.verifyHost)
        if tls.version > 0 { set(CURLOPT_SSLVERSION, tls.version) }
        set(CURLOPT_CAINFO, tls.caCertFile)
        set(CURLOPT_CAPATH, tls.caPath)
        set(CURLOPT_SSLCERT, tls.clientCert)
        set(CURLOPT_SSLKEY, tls.clientKey)
        set(CURLOPT_SSL_CIPHER_LIST, tls.cipherList)
        if let method = request.method {
            switch method {
            // A GET with a body (http_client_get) is still a GET: without CUSTOMREQUEST,
            // curl turns a request with POSTFIELDS into a POST.
            case "GET" where request.body != nil: set(CURLOPT_CUSTOMREQUEST, "GET")
            case "GET": set(CURLOPT_HTTPGET, 1)
            case "HEAD": set(CURLOPT_NOBODY, 1)
            case "POST": set(CURLOPT_POST, 1)
            default: set(CURLOPT_CUSTOMREQUEST, method)
            }
        }
        if let data = request.body {
            // COPYPOSTFIELDS: curl keeps its own copy, so the request may go away.
            set(CURLOPT_POSTFIELDSIZE, data.count)
            if code == CURLE_OK {
                code = data.isEmpty ? rc_easy_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                    : data.withUnsafeBytes { rc_easy_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress!)) }
            }
        }
        for line in request.headers { headerList = curl_slist_append(headerList, line) }
        if data(request), !request.headers.contains(where: { $0.lowercased().hasPrefix("expect:") }) {
            // No "Expect: 100-continue" round trip before a body.
            headerList = curl_slist_append(headerList, "Expect:")
        }
        if let headerList { code = code == CURLE_OK ? rc_easy_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)) : code }
        if code != CURLE_OK { return failure(code) }
        return nil
    }

    private func data(_ request: HTTPRequest) -> Bool { request.body != nil }

    /// Runs the configured request to its end, blocking this process.
    func perform() -> HTTPResponse {
        response(curl_easy_perform(handle))
    }

    /// The outcome of the exchange that ended with `code` (from `perform` or curl's multi
    /// interface).
    func response(_ code: CURLcode) -> HTTPResponse {
        var response = HTTPResponse()
        var status = 0
        _ = rc_info_long(handle, CURLINFO_RESPONSE_CODE, &status)
        response.status = status
        if head.length > 0 {
            response.parseHead(UnsafeBufferPointer(start: UnsafeRawPointer(head.data).assumingMemoryBound(to: UInt8.self), count: head.length))
        }
        if body.length > 0 { response.body = Array(UnsafeBufferPointer(start: UnsafeRawPointer(body.data).assumingMemoryBound(to: UInt8.self), count: body.length)) }
        var text: UnsafePointer<CChar>?
        if rc_info_string(handle, CURLINFO_EFFECTIVE_URL, &text) == CURLE_OK, let text { response.effectiveURL = String(cString: text) }
        text = nil
        if rc_info_string(handle, CURLINFO_REDIRECT_URL, &text) == CURLE_OK, let text { response.redirectURL = String(cString: text) }
        text = nil
        if rc_info_string(handle, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK, let text { response.contentType = String(cString: text) }
        var redirects = 0
        _ = rc_info_long(handle, CURLINFO_REDIRECT_COUNT, &redirects)
        response.redirects = redirects
        response.truncated = body.truncate != 0 && body.overflowed != 0
        if code != CURLE_OK { response.error = failure(code) }
        return response
    }

    /// A buffer a big response grew is not kept for the life of the process.
    func trimBuffers() {
        if body.capacity > Self.keptBufferBytes { rc_buffer_free(&body) }
        if head.capacity > Self.keptBufferBytes { rc_buffer_free(&head) }
    }

    /// Response buffers larger than this are given back before the next request.
    static let keptBufferBytes = 1 << 20

    private func failure(_ code: CURLcode) -> HTTPFailure {
        let detail = errorText[0] != 0 ? String(cString: errorText) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPFailure(kind: .timedOut, curlCode: Int(code.rawValue), message: detail)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPFailure(kind: .connectFailed, curlCode: Int(code.rawValue), message: detail)
        case CURLE_FILESIZE_EXCEEDED:
            return HTTPFailure(kind: .tooLarge, curlCode: Int(code.rawValue),
                               message: "the response is larger than maxdatasize (\(body.max) bytes): \(detail)")
        case CURLE_WRITE_ERROR where body.overflowed != 0:
            return HTTPFailure(kind: .tooLarge, curlCode: Int(CURLE_FILESIZE_EXCEEDED.rawValue),
                               message: "the response is larger than maxdatasize (\(body.max) bytes)")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return HTTPFailure(kind: .badURL, curlCode: Int(code.rawValue), message: detail)
        default:
            return HTTPFailure(kind: .other, curlCode: Int(code.rawValue), message: detail)
        }
    }
}

/// curl's process-wide set-up, done once per process on first use (every Respite process
/// is single-threaded, so the call is safe wherever it happens).
enum CurlGlobal {
    nonisolated(unsafe) private static var done = false

    static func initialize() {
        if done { return }
        done = true
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }
}
