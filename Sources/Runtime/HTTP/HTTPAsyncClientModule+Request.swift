import Script

extension HTTPAsyncClientModule {
    static let requestKeys = ["all", "hdr", "body", "method", "timeout", "tls_client_cert", "tls_client_key",
                              "tls_ca_path", "authmethod", "username", "password", "suspend",
                              "keepalive", "ka-idle", "ka-interval"]

    /// `$http_req(key) = value`: shapes this process's next query; `$null` puts the key
    /// back to the module's default (`$http_req(all) = $null` resets them all).
    static var requestVariable: VariableClassSpec {
        VariableClassSpec("http_req", nameRule: .required, validateName: { name in
            requestKeys.contains(name) ? nil : "unknown $http_req(\(name)) (\(requestKeys.joined(separator: ", ")))"
        }, get: { ctx, _ in
            ctx.message.process.log.error("http_async_client", "$http_req(...) can only be assigned")
            return .null
        }, set: { ctx, name, value in
            guard let client = ctx.message.process.httpAsync, let key = name.name else { return false }
            return apply(key, value, to: client, log: ctx.message.process.log)
        })
    }

    static func apply(_ key: String, _ value: Value, to client: HTTPAsyncClient, log: ServerLog) -> Bool {
        let defaults = client.config.defaultRequest()
        func string() -> String? {
            if case .string(let s) = value { return s }
            log.error("http_async_client", "$http_req(\(key)) takes a string")
            return nil
        }
        func int() -> Int? {
            if case .int(let n) = value { return n }
            log.error("http_async_client", "$http_req(\(key)) takes an integer")
            return nil
        }
        let null = value == .null
        switch key {
        case "all":
            if null { client.resetSettings() }
        case "hdr":
            if !null { guard let s = string() else { return false }; client.next.headers.append(s) }
        case "body":
            if null { client.next.body = nil } else { guard let s = string() else { return false }; client.next.body = Array(s.utf8) }
        case "method":
            if null { client.next.method = nil } else {
                guard let s = string()?.uppercased() else { return false }
                guard ["GET", "POST", "PUT", "DELETE"].contains(s) else {
                    log.error("http_async_client", "$http_req(method): \(s) is not GET, POST, PUT or DELETE")
                    return false
                }
                client.next.method = s
            }
        case "timeout":
            // 0 or less would let a silent service hold the query for ever: the default.
            if null { client.next.timeoutMs = defaults.timeoutMs } else {
                guard let n = int() else { return false }
                client.next.timeoutMs = n > 0 ? n : defaults.timeoutMs
            }
        case "authmethod":
            if null { client.next.authMethod = defaults.authMethod } else { guard let n = int() else { return false }; client.next.authMethod = n }
        case "keepalive":
            if null { client.next.tcpKeepAlive = defaults.tcpKeepAlive } else { guard let n = int() else { return false }; client.next.tcpKeepAlive = n != 0 }
        case "ka-idle":
            if null { client.next.tcpKeepIdle = defaults.tcpKeepIdle } else { guard let n = int() else { return false }; client.next.tcpKeepIdle = max(n, 0) }
        case "ka-interval":
            if null { client.next.tcpKeepInterval = defaults.tcpKeepInterval } else { guard let n = int() else { return false }; client.next.tcpKeepInterval = max(n, 0) }
        case "suspend":
            if null { client.suspendNext = true } else { guard let n = int() else { return false }; client.suspendNext = n != 0 }
        case "username", "password", "tls_client_cert", "tls_client_key", "tls_ca_path":
            var text: String?
            if !null { guard let s = string() else { return false }; text = s }
            switch key {
            case "username": client.next.username = text
            case "password": client.next.password = text
            case "tls_client_cert": client.next.tls.clientCert = text ?? defaults.tls.clientCert
            case "tls_client_key": client.next.tls.clientKey = text ?? defaults.tls.clientKey
            default: client.next.tls.caPath = text ?? defaults.tls.caPath
            }
        default:
            return false
        }
        return true
    }
}
