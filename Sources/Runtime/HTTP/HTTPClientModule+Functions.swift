import Script

/// The script functions. Every one blocks its process until the exchange ends (bounded by
/// the connection's timeout), so they belong in async task routes; Kamailio allows them in
/// any route and so does Respite.
extension HTTPClientModule {
    static var functions: [FunctionSpec] {
        [
            // http_connect(connection, url, [content_type, data,] result)
            FunctionSpec(
                "http_connect", args: [.string, .string, .string, .string, .variable], minArgs: 3,
                kindsByArity: [3: [.string, .string, .variable]], fixup: checkConnectArity
            ) { ctx, args in
                connect(&ctx, args)
            },
            // http_connect_raw(connection, url, content_type, data, result): data sent as written.
            FunctionSpec(
                "http_connect_raw", args: [.string, .string, .string, .rawString, .variable],
                fixup: checkConnect
            ) { ctx, args in
                connect(&ctx, args)
            },
            FunctionSpec("http_get_redirect", args: [.string, .variable], fixup: checkConnection(0)) { ctx, args in
                let process = ctx.message.process
                let client = process.httpClientState()
                let name = args.string(0, &ctx)
                guard client.config.connections[name] != nil else {
                    process.log.error(Self.name, "\(args.location): no http_client connection named '\(name)'")
                    return -1
                }
                store(&ctx, args, client.lastURL(of: name))
                return 1
            },
            // http_client_query(url, [post-data], [hdrs], result)
            FunctionSpec(
                "http_client_query", args: [.string, .string, .string, .variable], minArgs: 2,
                kindsByArity: [2: [.string, .variable], 3: [.string, .string, .variable]],
                fixup: checkURL
            ) { ctx, args in
                let post = args.count >= 3 ? args.string(1, &ctx) : ""
                let headers = args.count == 4 ? args.string(2, &ctx) : ""
                return query(&ctx, args, method: post.isEmpty ? nil : "POST", body: post, headers: headers)
            },
            // http_client_get(url, body, hdrs, result): a GET, with a body when one is given.
            FunctionSpec("http_client_get", args: [.string, .string, .string, .variable], fixup: checkURL) {
                ctx, args in
                let body = args.string(1, &ctx)
                let headers = args.string(2, &ctx)
                return query(&ctx, args, method: "GET", body: body, headers: headers)
            },
        ]
    }

    /// http_connect takes its content type and data together or not at all.
    static let checkConnectArity: @Sendable (inout FixupContext) -> Void = { fc in
        if fc.argumentCount == 4 {
            fc.error(
                "http_connect takes 3 arguments (connection, url, result) or 5 (connection, url, content_type, data, result), got 4"
            )
            return
        }
        checkConnect(&fc)
    }

    private static func connect(_ ctx: inout ExecContext, _ args: CallArgs) -> Int {
        let process = ctx.message.process
        let client = process.httpClientState()
        let name = args.string(0, &ctx)
        guard let connection = client.config.connections[name] else {
            process.log.error(
                Self.name, "\(args.location): no http_client connection named '\(name)' (\(client.config.names))")
            return -1
        }
        let path = args.string(1, &ctx)
        var contentType: String?
        var data: [UInt8]?
        if args.count == 5 {
            // $null or empty data (the manual's request shaper) makes a GET, as in Kamailio.
            let value = args.value(3, &ctx)
            if !value.stringValue.isEmpty {
                data = Array(value.stringValue.utf8)
                let type = args.value(2, &ctx)
                contentType = type.isNull ? nil : type.stringValue
            }
        }
        let outcome = client.connect(connection, path: path, contentType: contentType, data: data, log: process.log)
        store(&ctx, args, outcome.body)
        return outcome.code
    }

    private static func query(
        _ ctx: inout ExecContext, _ args: CallArgs, method: String?, body: String,
        headers: String
    ) -> Int {
        let process = ctx.message.process
        let url = args.string(0, &ctx)
        let lines = headers.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        let outcome = process.httpClientState().query(
            url: url, method: method, headers: lines,
            body: body.isEmpty ? nil : Array(body.utf8), log: process.log)
        store(&ctx, args, outcome.body)
        return outcome.code
    }

    /// Writes the result variable (the last argument).
    private static func store(_ ctx: inout ExecContext, _ args: CallArgs, _ text: String) {
        if !args.assign(args.count - 1, .string(text), &ctx) {
            ctx.message.process.log.error(
                Self.name, "\(args.location): cannot store the result in argument \(args.count)")
        }
    }
}
