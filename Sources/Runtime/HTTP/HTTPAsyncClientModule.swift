import Script
import Shared

/// http_async_client: http_async_query(), `$http_req(...)` to shape the next query, and
/// the `$http_*` variables its route reads (docs/modules/http_async_client.md).
enum HTTPAsyncClientModule {
    static var spec: ModuleSpec {
        let nonNegative = AsyncModule.nonNegative
        return ModuleSpec(name: HTTPAsyncConfig.module, params: [
            ModuleParamSpec("workers", .int, default: .int(1)) { v in
                if case .int(let n) = v, !(1...64).contains(n) { return "workers must be between 1 and 64" }
                return nil
            },
            ModuleParamSpec("connection_timeout", .int, default: .int(500)) { v in
                if case .int(let n) = v, n < 1 { return "connection_timeout is in milliseconds, at least 1" }
                return nil
            },
            ModuleParamSpec("authmethod", .int, default: .int(3), validate: nonNegative),
            ModuleParamSpec("tcp_keepalive", .int, default: .int(0), validate: nonNegative),
            ModuleParamSpec("tcp_ka_idle", .int, default: .int(0), validate: nonNegative),
            ModuleParamSpec("tcp_ka_interval", .int, default: .int(0), validate: nonNegative),
            ModuleParamSpec("max_pending", .int, default: .int(4096)) { v in
                if case .int(let n) = v, !(1...1_048_576).contains(n) { return "max_pending must be between 1 and 1048576" }
                return nil
            },
            ModuleParamSpec("maxdatasize", .int, default: .int(16 << 20)) { v in
                if case .int(let n) = v, n < 1 { return "maxdatasize must be at least 1 byte" }
                return nil
            },
            ModuleParamSpec("hash_size", .int, default: .int(2048), validate: nonNegative),
            ModuleParamSpec("tls_version", .int, default: .int(0), validate: nonNegative),
            ModuleParamSpec("tls_verify_host", .int, default: .int(2), validate: nonNegative),
            ModuleParamSpec("tls_verify_peer", .int, default: .int(1), validate: nonNegative),
            ModuleParamSpec("curl_verbose", .int, default: .int(0)),
            ModuleParamSpec("memory_manager", .string, default: .string("shm")) { v in
                ["shm", "sys"].contains(v.text) ? nil : "memory_manager is shm or sys"
            },
            ModuleParamSpec("tls_client_cert", .string),
            ModuleParamSpec("tls_client_key", .string),
            ModuleParamSpec("tls_ca_path", .string),
        ], functions: [
            FunctionSpec("http_async_query", args: [.string, .routeName(.route, runsAs: .failure)], fixup: checkURL) { ctx, args in
                let url = args.string(0, &ctx)
                guard let route = args.route(1, &ctx) else {
                    ctx.message.process.log.error("http_async_client", "no route named '\(args.string(1, &ctx))'")
                    return -1
                }
                return ctx.message.httpAsyncQuery(url: url, route: route, flags: ctx.flags)
            },
        ], variables: resultVariables + [requestVariable])
    }

    /// A literal URL must be one curl can send: http or https with a host.
    static let checkURL: @Sendable (inout FixupContext) -> Void = { fixup in
        guard case .string(let url)? = fixup.staticArgs.first ?? nil, !url.contains("$") else { return }
        if let problem = urlProblem(url) { fixup.error(problem, argument: 0) }
    }

    static func urlProblem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return "'\(url)' is not an http:// or https:// URL"
        }
        let rest = url.drop { $0 != "/" }.dropFirst(2)
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if host.isEmpty || host.hasPrefix(":") { return "'\(url)' has no host" }
        if url.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) { return "'\(url)' contains white space" }
        return nil
    }

    /// The answer's variables: only its route has them; elsewhere they are null (logged).
    static var resultVariables: [VariableClassSpec] {
        func answer(_ name: String, nameRule: VariableClassSpec.NameRule = .none,
                    _ read: @escaping @Sendable (HTTPAsyncResult, VariableName) -> Value) -> VariableClassSpec {
            VariableClassSpec(name, nameRule: nameRule) { ctx, variable in
                guard let result = ctx.message.async.http else {
                    ctx.message.process.log.error("http_async_client", "$\(name) can only be read in the route of an http_async_query() answer")
                    return .null
                }
                return read(result, variable)
            }
        }
        /// The response's fields are null after a failed exchange (as in Kamailio).
        func response(_ name: String, nameRule: VariableClassSpec.NameRule = .none,
                      _ read: @escaping @Sendable (HTTPResponse, VariableName) -> Value) -> VariableClassSpec {
            answer(name, nameRule: nameRule) { result, variable in
                result.response.error == nil ? read(result.response, variable) : .null
            }
        }
        return [
            answer("http_ok") { r, _ in .int(r.response.error == nil ? 1 : 0) },
            answer("http_err") { r, _ in r.response.error.map { .string($0.message) } ?? .null },
            response("http_rs") { r, _ in .int(r.status) },
            response("http_rr") { r, _ in .string(r.reason) },
            response("http_rb") { r, _ in .string(r.bodyText) },
            response("http_bs") { r, _ in .int(r.body.count) },
            response("http_mb") { r, _ in .string(r.head + r.bodyText) },
            response("http_ml") { r, _ in .int(r.head.utf8.count + r.body.count) },
            response("http_hdr", nameRule: .required) { r, v in
                let values = r.headerValues(v.name ?? "")
                switch v.index {
                case .at(let i)?:
                    let at = i < 0 ? values.count + i : i
                    return values.indices.contains(at) ? .string(values[at]) : .null
                default:
                    return values.first.map { .string($0) } ?? .null
                }
            },
            VariableClassSpec("http_req_id") { ctx, _ in
                let m = ctx.message
                if let r = m.async.http { return .string(String(r.queryID)) }
                return m.process.httpAsync?.lastQueryID.map { .string(String($0)) } ?? .null
            },
        ]
    }
}
