import SIP
import Script

/// siputils: tests on the message and small Request-URI edits, as Kamailio's module has
/// them.
enum SipUtilsModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "siputils", functions: [
            FunctionSpec("has_totag") { ctx, _ in ctx.message.message.to.tag == nil ? -1 : 1 },
            FunctionSpec("is_request") { ctx, _ in ctx.message.message.isRequest ? 1 : -1 },
            FunctionSpec("is_reply") { ctx, _ in ctx.message.message.isRequest ? -1 : 1 },
            // The username of the request's digest credentials (Authorization, then
            // Proxy-Authorization) is `user`.
            FunctionSpec("is_user", args: [.string]) { ctx, args in
                let wanted = args.string(0, &ctx)
                let m = ctx.message.message
                for value in m.headerValues("Authorization") + m.headerValues("Proxy-Authorization") {
                    if DigestCredentials.parse(value)?.username == wanted { return 1 }
                }
                return -1
            },
            // The Request-URI (as the script has it now) has parameter `name` (with `value`).
            FunctionSpec("uri_param", args: [.string, .string], minArgs: 1) { ctx, args in
                guard ctx.message.message.isRequest, let uri = SIPURI.parse(ctx.message.requestURI) else { return -1 }
                let name = args.string(0, &ctx)
                guard uri.params.contains(name) else { return -1 }
                guard args.count > 1 else { return 1 }
                return uri.params.value(name) == args.string(1, &ctx) ? 1 : -1
            },
            // Appends `;param` to the Request-URI (before any `?headers`).
            FunctionSpec("add_uri_param", args: [.string]) { ctx, args in
                let param = args.string(0, &ctx)
                guard ctx.message.message.isRequest, !param.isEmpty else { return -1 }
                let uri = ctx.message.requestURI
                let updated: String
                if let q = uri.firstIndex(of: "?") {
                    updated = uri[..<q] + ";" + param + uri[q...]
                } else {
                    updated = uri + ";" + param
                }
                guard SIPURI.parse(updated) != nil else { return -1 }
                ctx.message.edits.requestURI = updated
                return 1
            },
        ])
    }
}

/// The parameters of a `Digest` credentials header value, read leniently (sanity's checks
/// report which one is missing; the auth module's DigestCredentials refuses such a value).
struct DigestParams {
    let params: [String: String]

    init?(_ value: String) {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("digest ") else { return nil }
        var params: [String: String] = [:]
        for part in trimmed.dropFirst(7).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            var v = kv[1].trimmingCharacters(in: .whitespaces)
            if v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            params[kv[0].trimmingCharacters(in: .whitespaces).lowercased()] = v
        }
        self.params = params
    }
}
