import Script

/// The management modules a stock config loads: their parameters are checked when the
/// config loads; what they start is in `RPCConfig` and the master.
enum RPCModules {
    /// ctl: binrpc (kamcmd) on unix, UDP and TCP sockets, answered by the `ctl handler`.
    static var ctl: ModuleSpec {
        ModuleSpec(name: "ctl", params: [
            ModuleParamSpec("binrpc", .string) { value in
                if case .failure(let why) = RPCAddress.parse(value.text, runDirectory: "/run") { return why.description }
                return nil
            },
            ModuleParamSpec("mode", .int, default: .int(0o600)) { value in
                if case .int(let m) = value, !(0...0o7777).contains(m) { return "mode must be permissions such as 0600" }
                return nil
            },
            ModuleParamSpec("binrpc_buffer_size", .intOrString),
            ModuleParamSpec("binrpc_max_body_size", .int),
            ModuleParamSpec("binrpc_struct_max_body_size", .int),
            ModuleParamSpec("autoconversion", .int),
            ModuleParamSpec("user", .intOrString) { _ in unsupported("user") },
            ModuleParamSpec("group", .intOrString) { _ in unsupported("group") },
            ModuleParamSpec("fifo", .string) { _ in
                "ctl's old fifo protocol is not available in Respite: use binrpc sockets (kamcmd) or jsonrpcs's fifo_name"
            },
        ])
    }

    /// jsonrpcs: JSON-RPC 2.0 on a FIFO, a datagram socket, and over HTTP through xhttp.
    static var jsonrpcs: ModuleSpec {
        ModuleSpec(name: "jsonrpcs", params: [
            ModuleParamSpec("pretty_format", .int, default: .int(1)),
            ModuleParamSpec("transport", .int, default: .int(6)) { value in
                if case .int(let t) = value, !(0...7).contains(t) { return "transport is 0 (all) or a sum of 1 (http), 2 (fifo), 4 (datagram)" }
                return nil
            },
            ModuleParamSpec("fifo_name", .string),
            ModuleParamSpec("fifo_mode", .int),
            ModuleParamSpec("fifo_reply_dir", .string),
            ModuleParamSpec("dgram_socket", .string) { value in
                if case .failure(let why) = RPCAddress.parse(value.text, runDirectory: "/run", datagramDefault: true) { return why.description }
                return nil
            },
            ModuleParamSpec("dgram_workers", .int) { value in
                if case .int(let n) = value, !(1...16).contains(n) { return "dgram_workers must be between 1 and 16" }
                return nil
            },
            ModuleParamSpec("dgram_mode", .int),
            ModuleParamSpec("dgram_timeout", .int),
            ModuleParamSpec("fifo_user", .intOrString) { _ in unsupported("fifo_user") },
            ModuleParamSpec("fifo_group", .intOrString) { _ in unsupported("fifo_group") },
            ModuleParamSpec("dgram_user", .intOrString) { _ in unsupported("dgram_user") },
            ModuleParamSpec("dgram_group", .intOrString) { _ in unsupported("dgram_group") },
        ], functions: [
            // HTTP: the request's body is the JSON-RPC document; the answer is the HTTP reply.
            FunctionSpec("jsonrpc_dispatch", allowedRoutes: [.event]) { ctx, _ in
                guard let exchange = XHTTPModule.exchange(ctx.message, "jsonrpc_dispatch") else { return -1 }
                let process = ctx.message.process
                let config = JSONRPCSConfig(process.program.settings.modparams["jsonrpcs"] ?? [:], runDirectory: process.settings.runDirectory,
                                            httpLoaded: process.program.settings.modules.contains("xhttp"))
                guard config.httpEnabled else {
                    process.log.error("jsonrpcs", "jsonrpc over HTTP is not enabled: set modparam(\"jsonrpcs\", \"transport\", ...) to include 1")
                    return -1
                }
                let source = "http:\(ctx.message.source)"
                let answer = JSONRPCDispatch(methods: process.rpcMethods, process: process, pretty: config.pretty)
                    .answer(String(decoding: exchange.request.body, as: UTF8.self), from: source)
                let sent = exchange.reply(status: answer.parseFailed ? 400 : 200, reason: answer.parseFailed ? "Bad Request" : "OK",
                                          contentType: "application/json", body: Array((answer.text ?? "").utf8))
                return sent ? 1 : -1
            },
            // Runs a document given in the script; the answer is read with $jsonrpl(code|text|body).
            FunctionSpec("jsonrpc_exec", args: [.string]) { ctx, args in
                let process = ctx.message.process
                let document = args.string(0, &ctx)
                let pretty = (process.program.settings.modparams["jsonrpcs"]?["pretty_format"]?.last).map { $0.text != "0" } ?? true
                let answer = JSONRPCDispatch(methods: process.rpcMethods, process: process, pretty: pretty)
                    .answer(document, from: "jsonrpc_exec")
                ctx.message.jsonrpcReply = JSONRPCExecReply(code: answer.parseFailed ? 400 : 200,
                                                            text: answer.parseFailed ? "Bad Request" : "OK", body: answer.text ?? "")
                return answer.parseFailed ? -1 : 1
            },
        ], variables: [
            VariableClassSpec("jsonrpl", nameRule: .required, validateName: { name in
                ["code", "text", "body"].contains(name) ? nil : "$jsonrpl(name): name is code, text or body"
            }) { ctx, name in
                guard let reply = ctx.message.jsonrpcReply else { return .null }
                switch name.name {
                case "code": return .int(reply.code)
                case "text": return .string(reply.text)
                default: return .string(reply.body)
                }
            },
        ])
    }

    /// cfg_rpc: the `cfg.*` RPC methods over the settings changeable at run time.
    static var cfgRPC: ModuleSpec { ModuleSpec(name: "cfg_rpc") }

    /// counters: Kamailio's statistics interface; the statistics themselves are the core's.
    static var counters: ModuleSpec {
        ModuleSpec(name: "counters", params: [
            ModuleParamSpec("script_counter", .string) { _ in
                "counters's script counters (cnt_inc) are not available in Respite yet"
            },
            ModuleParamSpec("script_cnt_grp_name", .string),
        ])
    }

    private static func unsupported(_ name: String) -> String {
        "\(name): Respite does not change the owner of its management sockets; start it as the user that should own them (-u/-g)"
    }
}
