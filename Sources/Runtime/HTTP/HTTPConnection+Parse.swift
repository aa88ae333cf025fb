import Foundation
import Script

extension HTTPConnection {
    /// The settings an `httpcon` line may carry after its URL (Kamailio's README; Kamailio
    /// 5.6.3 refuses the others too, with a log line, and goes on without them).
    static let httpconParams = [
        "useragent", "verify_peer", "verify_host", "client_cert", "client_key", "cipher_suites",
        "timeout", "tlsversion", "maxdatasize", "httpredirect", "failover",
    ]

    /// Parses an `httpcon` value, `name=>scheme://[user:password@]host[/path][;param=value]...`,
    /// taking from `defaults` what it does not set. The error message says what is wrong.
    static func parse(
        httpcon text: String, defaults: HTTPClientDefaults,
        at location: SourceLocation
    ) -> Result<HTTPConnection, HTTPClientSpecError> {
        guard let arrow = text.range(of: "=>") else {
            return .failure(.init("expected name=>url, got '\(text)'"))
        }
        let name = text[..<arrow.lowerBound].trimmingCharacters(in: " \t")
        if let problem = nameProblem(name) { return .failure(.init(problem)) }
        var parts = text[arrow.upperBound...].split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: " \t") }
        let written = parts.removeFirst()
        let (url, user, password) = HTTPURL.credentials(of: written)
        if let problem = HTTPURL.problem(url) { return .failure(.init("connection '\(name)': \(problem)")) }
        var connection = HTTPConnection(
            name: name, url: url, username: user, password: password,
            settings: defaults, failover: nil, location: location)
        for part in parts where !part.isEmpty {
            guard let eq = part.firstIndex(of: "=") else {
                return .failure(.init("connection '\(name)': expected param=value, got '\(part)'"))
            }
            let key = part[..<eq].trimmingCharacters(in: " \t")
            let value = part[part.index(after: eq)...].trimmingCharacters(in: " \t")
            guard httpconParams.contains(key) else {
                return .failure(
                    .init(
                        "connection '\(name)': unknown parameter '\(key)' (an httpcon takes "
                            + httpconParams.joined(separator: ", ") + "; the others go in a config_file section)"))
            }
            if let problem = connection.set(key, value) { return .failure(.init("connection '\(name)': \(problem)")) }
        }
        return .success(connection)
    }

    /// Why `name` cannot name a connection, or nil.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "a connection needs a name before '=>'" }
        let allowed = name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
        return allowed ? nil : "'\(name)' cannot name a connection (letters, digits, '_', '-' and '.')"
    }

    /// Sets one per-connection parameter (`httpcon` and `config_file` names); returns why
    /// the value is refused, or nil.
    mutating func set(_ key: String, _ value: String) -> String? {
        func integer(_ range: ClosedRange<Int>) -> Int? {
            if let n = Int(value), range.contains(n) { return n }
            // yes/no for the switches (verify_host's "yes" is 2, curl's full check).
            guard range.lowerBound == 0 && range.upperBound <= 2 else { return nil }
            switch value.lowercased() {
            case "yes", "on", "true": return range.upperBound
            case "no", "off", "false": return 0
            default: return nil
            }
        }
        func must(_ range: ClosedRange<Int>, _ apply: (Int) -> Void) -> String? {
            guard let n = integer(range) else {
                return "\(key) must be between \(range.lowerBound) and \(range.upperBound), got '\(value)'"
            }
            apply(n)
            return nil
        }
        let text: String? = value.isEmpty || value == "\"\"" ? nil : value
        switch key {
        case "url":
            let (url, user, password) = HTTPURL.credentials(of: value)
            if let problem = HTTPURL.problem(url) { return problem }
            self.url = url
            if user != nil { username = user; self.password = password }
        case "username": username = text
        case "password": password = text
        case "useragent": settings.userAgent = value
        case "verify_peer": return must(0...1) { settings.tls.verifyPeer = $0 != 0 }
        case "verify_host": return must(0...2) { settings.tls.verifyHost = $0 }
        case "client_cert": settings.tls.clientCert = text
        case "client_key": settings.tls.clientKey = text
        case "cipher_suites": settings.tls.cipherList = text
        case "timeout": return must(0...86400) { settings.timeoutSeconds = $0 }
        case "tlsversion":
            if let n = HTTPClientModule.tlsVersions.firstIndex(where: {
                $0.caseInsensitiveCompare(value) == .orderedSame
            }) {
                settings.tls.version = n
                return nil
            }
            return must(0...(HTTPClientModule.tlsVersions.count - 1)) { settings.tls.version = $0 }
        case "maxdatasize": return must(0...Int(Int32.max)) { settings.maxDataSize = $0 }
        case "httpredirect", "http_follow_redirect": return must(0...1) { settings.followRedirects = $0 != 0 }
        case "authmethod": return must(1...31) { settings.authMethod = $0 }
        case "keep_connections": return must(0...1) { settings.keepConnections = $0 != 0 }
        case "httpproxy": settings.proxy = text
        case "httpproxyport": return must(0...65535) { settings.proxyPort = $0 }
        case "failover":
            if let problem = Self.nameProblem(value) { return "failover: \(problem)" }
            failover = value
        default:
            return "unknown parameter '\(key)'"
        }
        return nil
    }
}

/// Why an http_client parameter is refused.
struct HTTPClientSpecError: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
