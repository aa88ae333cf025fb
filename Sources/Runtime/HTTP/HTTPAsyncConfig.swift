import Script

/// http_async_client's settings, from the loaded config (its specs checked them).
struct HTTPAsyncConfig: Sendable {
    static let module = "http_async_client"
    /// The queue the Http Workers take their queries from.
    static let queueName = "http_async_client"

    var moduleLoaded = false
    /// `workers`: Http Worker processes.
    var workers = 1
    /// `connection_timeout`, ms: a query's whole exchange unless `$http_req(timeout)` says otherwise.
    var timeoutMs = 500
    /// `max_pending` (Respite's own): entries of the pending-query table.
    var maxPending = 4096
    /// `maxdatasize` (Respite's own): a longer response body fails the exchange, so a huge
    /// or lying Content-Length never fills a worker's memory.
    var maxDataSize = 16 << 20
    /// Transfers one worker runs at once; the rest wait in the queue.
    var maxTransfersPerWorker = 1024
    var tls = HTTPTLSSettings()
    var authMethod = 3
    /// `tcp_keepalive`, `tcp_ka_idle`, `tcp_ka_interval` (seconds; 0: the system's).
    var keepAlive = false
    var keepIdle = 0
    var keepInterval = 0
    var verbose = false
    /// Params set that change nothing in Respite, for the start-up warning.
    var ignored: [String] = []

    init() {}

    init(_ settings: ConfigSettings) {
        let m = Self.module
        moduleLoaded = settings.modules.contains(m)
        workers = settings.modparamInt(m, "workers") ?? 1
        timeoutMs = settings.modparamInt(m, "connection_timeout") ?? 500
        maxPending = settings.modparamInt(m, "max_pending") ?? 4096
        maxDataSize = settings.modparamInt(m, "maxdatasize") ?? (16 << 20)
        tls.version = settings.modparamInt(m, "tls_version") ?? 0
        // As Kamailio: any non-zero value checks the name (curl's 2).
        tls.verifyHost = (settings.modparamInt(m, "tls_verify_host") ?? 2) != 0 ? 2 : 0
        authMethod = settings.modparamInt(m, "authmethod") ?? 3
        keepAlive = (settings.modparamInt(m, "tcp_keepalive") ?? 0) != 0
        keepIdle = settings.modparamInt(m, "tcp_ka_idle") ?? 0
        keepInterval = settings.modparamInt(m, "tcp_ka_interval") ?? 0
        tls.verifyPeer = (settings.modparamInt(m, "tls_verify_peer") ?? 1) != 0
        verbose = (settings.modparamInt(m, "curl_verbose") ?? 0) != 0
        tls.clientCert = Self.nonEmpty(settings.modparam(m, "tls_client_cert"))
        tls.clientKey = Self.nonEmpty(settings.modparam(m, "tls_client_key"))
        tls.caPath = Self.nonEmpty(settings.modparam(m, "tls_ca_path"))
        let set = settings.modparams[m] ?? [:]
        if set["hash_size"] != nil { ignored.append("hash_size (pending queries live in a fixed table of max_pending entries)") }
        if set["memory_manager"] != nil { ignored.append("memory_manager (curl always allocates from each worker's own memory)") }
    }

    private static func nonEmpty(_ value: ConfigValue?) -> String? {
        guard case .string(let s)? = value, !s.isEmpty else { return nil }
        return s
    }

    /// A request with the module's defaults, before the script's `$http_req(...)` settings.
    func defaultRequest() -> HTTPRequest {
        var request = HTTPRequest(url: "")
        request.timeoutMs = timeoutMs
        request.maxDataSize = maxDataSize
        request.tls = tls
        request.authMethod = authMethod
        request.tcpKeepAlive = keepAlive
        request.tcpKeepIdle = keepIdle
        request.tcpKeepInterval = keepInterval
        return request
    }
}
