import CCurl
import Script

/// http_client: blocking HTTP requests from the script (Kamailio's module of that name),
/// meant for async task routes, where a slow web service holds a task worker rather than a
/// SIP receiver. Connections are named (`httpcon`, `config_file`) and each process keeps a
/// curl handle per connection, so a kept-alive connection serves the next task too.
///
/// Return codes are Kamailio 5.6.3's: the HTTP status when a response came, curl's error
/// code (1-99, e.g. 7 refused, 28 timed out) when none did, -1 when the call could not be
/// made (unknown connection, URL that is not http or https).
enum HTTPClientModule {
    static let name = "http_client"

    /// `tlsversion` values by number (curl's CURL_SSLVERSION_*), as the connections file
    /// names them.
    static let tlsVersions = ["DEFAULT", "TLSv1", "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

    static var spec: ModuleSpec {
        ModuleSpec(
            name: name, params: params, functions: functions, variables: variables,
            checkParams: checkParams)
    }

    static var params: [ModuleParamSpec] {
        func flag(_ name: String, default value: Int) -> ModuleParamSpec {
            ModuleParamSpec(name, .int, default: .int(value)) { v in
                if case .int(let n) = v, n != 0 && n != 1 { return "must be 0 or 1" }
                return nil
            }
        }
        func count(_ name: String, default value: Int, max: Int = Int(Int32.max)) -> ModuleParamSpec {
            ModuleParamSpec(name, .int, default: .int(value)) { v in
                if case .int(let n) = v, !(0...max).contains(n) { return "must be between 0 and \(max)" }
                return nil
            }
        }
        func text(_ name: String) -> ModuleParamSpec { ModuleParamSpec(name, .string) }
        return [
            flag("httpredirect", default: 0),
            ModuleParamSpec("httpproxy", .string) { v in
                v.text.isEmpty ? nil : HTTPURL.problem(v.text.contains("://") ? v.text : "http://" + v.text)
            },
            ModuleParamSpec("httpproxyport", .intOrString, default: .int(0)) { v in
                guard let n = Int(v.text), (0...65535).contains(n) else {
                    return "must be a port number, got '\(v.text)'"
                }
                return nil
            },
            text("useragent"),
            count("maxdatasize", default: 0),
            count("connection_timeout", default: 4, max: 86400),
            text("client_cert"), text("client_key"), text("cacert"), text("cipher_suites"),
            flag("verify_peer", default: 1),
            count("verify_host", default: 2, max: 2),
            count("tlsversion", default: 0, max: tlsVersions.count - 1),
            ModuleParamSpec("authmethod", .int, default: .int(3)) { v in
                if case .int(let n) = v, !(1...31).contains(n) {
                    return "is a sum of 1 (basic), 2 (digest), 4 (negotiate), 8 (NTLM), 16 (digest, IE flavour)"
                }
                return nil
            },
            flag("keep_connections", default: 0),
            flag("query_result", default: 1),
            count("query_maxdatasize", default: 0),
            ModuleParamSpec("httpcon", .string) { v in
                // Syntax only here; checkParams parses it again with the defaults above it.
                if case .failure(let e) = HTTPConnection.parse(
                    httpcon: v.text, defaults: HTTPClientDefaults(ConfigSettings()),
                    at: SourceLocation(file: "", line: 0, column: 0))
                {
                    return e.message
                }
                return nil
            },
            ModuleParamSpec("config_file", .string) { v in v.text.isEmpty ? "names no file" : nil },
            text("netinterface"),
        ]
    }

    static var variables: [VariableClassSpec] {
        [
            // $curlerror(N): curl's text for error code N (the code http_connect returned).
            VariableClassSpec(
                "curlerror", nameRule: .required,
                validateName: { name in
                    Int(name) == nil ? "expected a curl error code, got '\(name)'" : nil
                }
            ) { _, name in
                guard let code = name.name.flatMap({ Int($0) }),
                    let text = curl_easy_strerror(CURLcode(UInt32(truncatingIfNeeded: code)))
                else {
                    return .null
                }
                return .string(String(cString: text))
            },
            // $curlredirect: where this process's last request was redirected (followed or not).
            VariableClassSpec("curlredirect") { ctx, _ in
                guard let url = ctx.message.process.httpClientState().lastRedirect else { return .null }
                return .string(url)
            },
        ]
    }
}
