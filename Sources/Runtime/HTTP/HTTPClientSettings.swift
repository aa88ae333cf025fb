import CCurl
import Foundation
import Script

/// http_client's module parameters as they stand at one point of the config. A connection
/// takes the values set above its `httpcon` line (Kamailio reads them when it parses the
/// connection); `http_client_query` and `http_client_get` use the final ones.
struct HTTPClientDefaults: Sendable, Equatable {
    /// `connection_timeout`, in seconds, for the whole exchange (0: none). Kamailio 5.6.3
    /// gives up after 4 s when it is not set, whatever its README says.
    var timeoutSeconds = 4
    /// `maxdatasize`: bytes of a response body kept (0: all of it).
    var maxDataSize = 0
    /// `httpredirect`. Kamailio 5.6.3 follows redirects only when it is set to 1.
    var followRedirects = false
    var userAgent: String
    /// `keep_connections`: keep a connection open for the next request to the same server.
    var keepConnections = false
    var tls = HTTPTLSSettings()
    /// `authmethod`: CURLAUTH_* bits, used with a user name from the connection's URL.
    var authMethod = 3
    var proxy: String?
    var proxyPort = 0
    var netInterface: String?
    /// `query_result`: 1 keeps only the first line of `http_client_query`'s body.
    var queryFirstLine = true
    /// `query_maxdatasize`: bytes of `http_client_query`'s body kept (0: all of it).
    var queryMaxDataSize = 0

    /// The defaults of a config that sets nothing: the User-Agent is the server's own.
    init(_ settings: ConfigSettings) {
        if case .string(let ua)? = settings.core("user_agent_header") {
            userAgent = ua.hasPrefix("User-Agent:") ? String(ua.dropFirst(11)).trimmingCharacters(in: " ") : ua
        } else {
            userAgent = "Respite (\(ServerSettings.version))"
        }
    }

    /// The module parameters a connection copies when it is defined.
    static let perConnection: Set<String> = [
        "httpredirect", "httpproxy", "httpproxyport", "useragent", "maxdatasize", "connection_timeout",
        "client_cert", "client_key", "cipher_suites", "verify_peer", "verify_host", "tlsversion",
        "authmethod", "keep_connections",
    ]

    /// Takes the settings no connection has its own of (`cacert`, `netinterface`).
    mutating func takeModuleWide(from module: HTTPClientDefaults) {
        tls.caCertFile = module.tls.caCertFile
        netInterface = module.netInterface
    }

    /// Takes one module parameter (already checked by its `validate`).
    mutating func apply(_ param: String, _ value: ConfigValue) {
        let int: Int = {
            if case .int(let n) = value { return n }; return Int(value.text) ?? 0
        }()
        let text: String? = value.text.isEmpty ? nil : value.text
        switch param {
        case "httpredirect": followRedirects = int != 0
        case "httpproxy": proxy = text
        case "httpproxyport": proxyPort = int
        case "useragent": userAgent = value.text
        case "maxdatasize": maxDataSize = int
        case "connection_timeout": timeoutSeconds = int
        case "client_cert": tls.clientCert = text
        case "client_key": tls.clientKey = text
        case "cacert": tls.caCertFile = text
        case "cipher_suites": tls.cipherList = text
        case "verify_peer": tls.verifyPeer = int != 0
        case "verify_host": tls.verifyHost = int
        case "tlsversion": tls.version = int
        case "authmethod": authMethod = int
        case "keep_connections": keepConnections = int != 0
        case "netinterface": netInterface = text
        case "query_result": queryFirstLine = int != 0
        case "query_maxdatasize": queryMaxDataSize = int
        default: break
        }
    }
}

/// One named connection (`httpcon` or a section of `config_file`): a base URL and the
/// settings of every request made through it.
struct HTTPConnection: Sendable, Equatable {
    var name: String
    /// The base URL, without the user name and password it was written with.
    var url: String
    var username: String?
    var password: String?
    var settings: HTTPClientDefaults
    /// The connection tried next, with the same path and data, when this one fails to
    /// answer or answers 5xx.
    var failover: String?
    /// Where it is defined.
    var location: SourceLocation

    /// The URL of a request: the base, then `path` (one `/` between them).
    func url(appending path: String) -> String {
        HTTPURL.join(url, path)
    }
}

/// What the module's parameters amount to: derived at load time by `checkParams`, kept in
/// `ConfigSettings.derived["http_client"]` and read by the fixups and every process.
struct HTTPClientConfig: Sendable {
    var connections: [String: HTTPConnection] = [:]
    /// The final module parameters (for `http_client_query` and `http_client_get`).
    var defaults: HTTPClientDefaults

    static func of(_ settings: ConfigSettings) -> HTTPClientConfig {
        settings.derived[HTTPClientModule.name] as? HTTPClientConfig
            ?? HTTPClientConfig(defaults: HTTPClientDefaults(settings))
    }

    /// The names, sorted, for messages.
    var names: String {
        connections.isEmpty ? "none is defined" : "defined: " + connections.keys.sorted().joined(separator: ", ")
    }
}

/// URL checks and joins, on curl's own parser so that what passes here is what curl sends.
enum HTTPURL {
    /// Why `url` cannot be requested (not http or https, no host, characters curl refuses),
    /// or nil when it can.
    static func problem(_ url: String) -> String? {
        guard url.contains("://") else { return "'\(url)' has no scheme (http:// or https://)" }
        guard let handle = curl_url() else { return "out of memory" }
        defer { curl_url_cleanup(handle) }
        // Any scheme parses here, so that the check below names the one that is refused.
        let rc = curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME))
        guard rc == CURLUE_OK else {
            return "'\(url)' is not a valid URL (\(String(cString: curl_url_strerror(rc))))"
        }
        var part: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, CURLUPART_SCHEME, &part, 0) == CURLUE_OK, let scheme = part else {
            return "'\(url)' has no scheme (http:// or https://)"
        }
        let name = String(cString: scheme).lowercased()
        curl_free(scheme)
        guard name == "http" || name == "https" else {
            return "'\(url)': only http and https URLs can be requested, not \(name)"
        }
        part = nil
        guard curl_url_get(handle, CURLUPART_HOST, &part, 0) == CURLUE_OK, let host = part else {
            return "'\(url)' has no host"
        }
        curl_free(host)
        return nil
    }

    /// `base` followed by `path`, with exactly one `/` between them when `path` is not empty.
    static func join(_ base: String, _ path: String) -> String {
        guard !path.isEmpty else { return base }
        switch (base.hasSuffix("/"), path.hasPrefix("/")) {
        case (true, true): return base + path.dropFirst()
        case (false, false): return base + "/" + path
        default: return base + path
        }
    }

    /// Splits `user:password@` off a URL's authority: the URL without it, and the two.
    static func credentials(of url: String) -> (url: String, user: String?, password: String?) {
        guard let schemeEnd = url.range(of: "://") else { return (url, nil, nil) }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return (url, nil, nil) }
        let userinfo = rest[..<at]
        let stripped = String(url[..<schemeEnd.upperBound]) + rest[rest.index(after: at)...]
        guard let colon = userinfo.firstIndex(of: ":") else { return (stripped, String(userinfo), nil) }
        return (stripped, String(userinfo[..<colon]), String(userinfo[userinfo.index(after: colon)...]))
    }
}
