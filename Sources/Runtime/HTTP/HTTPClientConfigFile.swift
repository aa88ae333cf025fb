import Script

/// The connections file of `modparam("http_client", "config_file", ...)`: one `[name]`
/// section per connection, `key = value` lines under it, `#` comment lines.
///
///     [authapi]
///     url = https://api.example.com/v4.2/auth
///     timeout = 1
///     http_follow_redirect = no
///
/// A value may be quoted (`""` is empty, which unsets a default). File names (client_cert,
/// client_key) are taken as written when they start with `/` or `.`, else relative to
/// `directory` (the config's).
enum HTTPClientConfigFile {
    struct Finding: Sendable {
        var message: String
        var location: SourceLocation
        var isError: Bool
    }

    static let keys: Set<String> = [
        "url", "username", "password", "authmethod", "keep_connections", "useragent", "verify_peer", "verify_host",
        "client_cert", "client_key", "cipher_suites", "tlsversion", "timeout", "maxdatasize", "http_follow_redirect",
        "httpproxy", "httpproxyport", "failover",
    ]

    /// The connections `text` defines, each starting from `defaults`, and what is wrong in it.
    static func parse(
        _ text: String, file: String, directory: String,
        defaults: HTTPClientDefaults
    ) -> (connections: [HTTPConnection], findings: [Finding]) {
        var connections: [HTTPConnection] = []
        var findings: [Finding] = []
        var current: HTTPConnection?
        var hasURL = false
        var seen: Set<String> = []

        func close() {
            guard let c = current else { return }
            if hasURL {
                connections.append(c)
            } else {
                findings.append(
                    Finding(message: "connection '\(c.name)' has no url", location: c.location, isError: true))
            }
            current = nil
        }

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let body = line.trimmingCharacters(in: " \t")
            let at = SourceLocation(file: file, line: index + 1, column: indent + 1)
            if body.isEmpty || body.hasPrefix("#") { continue }
            if body.hasPrefix("[") {
                close()
                guard body.hasSuffix("]") else {
                    findings.append(Finding(message: "expected [name], got '\(body)'", location: at, isError: true))
                    continue
                }
                let name = body.dropFirst().dropLast().trimmingCharacters(in: " \t")
                if let problem = HTTPConnection.nameProblem(name) {
                    findings.append(Finding(message: problem, location: at, isError: true))
                    continue
                }
                current = HTTPConnection(name: name, url: "", settings: defaults, location: at)
                hasURL = false
                seen = []
                continue
            }
            guard let eq = body.firstIndex(of: "=") else {
                findings.append(Finding(message: "expected key = value, got '\(body)'", location: at, isError: true))
                continue
            }
            let key = body[..<eq].trimmingCharacters(in: " \t")
            var value = body[body.index(after: eq)...].trimmingCharacters(in: " \t")
            let valueColumn =
                indent + body.distance(from: body.startIndex, to: eq) + 2
                + body[body.index(after: eq)...].prefix { $0 == " " || $0 == "\t" }.count
            let valueAt = SourceLocation(file: file, line: index + 1, column: valueColumn)
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard var connection = current else {
                findings.append(
                    Finding(message: "'\(key)' outside a [connection] section", location: at, isError: true))
                continue
            }
            guard keys.contains(key) else {
                findings.append(
                    Finding(
                        message: "unknown key '\(key)' (known: \(keys.sorted().joined(separator: ", ")))",
                        location: at, isError: true))
                continue
            }
            if !seen.insert(key).inserted {
                findings.append(
                    Finding(
                        message: "'\(key)' is set again in [\(connection.name)]; the last value wins",
                        location: at, isError: false))
            }
            if key == "client_cert" || key == "client_key", !value.isEmpty {
                value = resolve(value, in: directory)
            }
            if let problem = connection.set(key, value) {
                findings.append(Finding(message: problem, location: valueAt, isError: true))
                continue
            }
            if key == "url" { hasURL = true }
            current = connection
        }
        close()
        return (connections, findings)
    }

    /// A file name as Kamailio reads the ones in its config: absolute or `./`-relative as
    /// written, anything else relative to `directory`.
    static func resolve(_ name: String, in directory: String) -> String {
        if name.hasPrefix("/") || name.hasPrefix(".") || directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory part of `path` ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
