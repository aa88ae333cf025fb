import Script

/// A small registry of fake modules: each function records what it did in the host's trace.
enum TestRegistry {
    static func make() -> ScriptRegistry {
        var r = ScriptRegistry.standard()
        r.eventRoutes = ["core:tkv", "htable:mod-init"]
        r.register(coreFunction: FunctionSpec("trace", args: [.string]) { ctx, args in
            ctx.test.trace.append(args.string(0, &ctx))
            return 1
        })
        // Returns its argument, to test how return codes steer the script.
        r.register(coreFunction: FunctionSpec("ret", args: [.int]) { ctx, args in
            args.int(0, &ctx) ?? -1
        })
        r.register(coreFunction: FunctionSpec("forward", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, _ in
            ctx.test.trace.append("forward")
            return 1
        })
        r.register(sl)
        r.register(xlog)
        r.register(tm)
        r.register(ModuleSpec(name: "tmx"))
        r.register(pv)
        r.register(htable)
        r.register(textops)
        r.register(async)
        r.register(ModuleSpec(name: "siputils", functions: [
            FunctionSpec("has_totag") { _, _ in -1 },
        ]))
        r.register(ModuleSpec(name: "http_async_client", functions: [
            FunctionSpec("http_async_query", args: [.string, .string],
                         status: .notYetAvailable("no HTTP client yet")) { _, _ in -1 },
        ]))
        r.register(ModuleSpec(name: "app_lua", status: .notYetAvailable("no Lua engine")))
        return r
    }

    static let sl = ModuleSpec(name: "sl", functions: [
        FunctionSpec("sl_send_reply", args: [.int, .string], allowedRoutes: [.request, .failure]) { ctx, args in
            ctx.test.trace.append("reply \(args.value(0, &ctx)) \(args.string(1, &ctx))")
            return 1
        },
        FunctionSpec("send_reply", args: [.int, .string], allowedRoutes: [.request, .failure]) { ctx, args in
            ctx.test.trace.append("reply \(args.value(0, &ctx)) \(args.string(1, &ctx))")
            return 1
        },
        FunctionSpec("sl_reply_error", allowedRoutes: [.request, .failure]) { ctx, _ in
            ctx.test.trace.append("reply 500 error")
            return 1
        },
    ])

    static let xlog: ModuleSpec = {
        var functions = [
            FunctionSpec("xlog", args: [.string, .string], minArgs: 1) { ctx, args in
                let level = args.count == 2 ? args.string(0, &ctx) + " " : ""
                let text = args.string(args.count - 1, &ctx)
                ctx.test.trace.append("log: " + level + text.replacingNewlines())
                return 1
            },
        ]
        for name in ["xinfo", "xdbg", "xnotice", "xwarn", "xerr"] {
            functions.append(FunctionSpec(name, args: [.string]) { ctx, args in
                ctx.test.trace.append("\(name): " + args.string(0, &ctx).replacingNewlines())
                return 1
            })
        }
        return ModuleSpec(name: "xlog", functions: functions)
    }()

    static let tm = ModuleSpec(name: "tm", params: [
        ModuleParamSpec("fr_timer", .int, default: .int(30000)),
        ModuleParamSpec("fr_inv_timer", .int, default: .int(120000)),
        ModuleParamSpec("auto_inv_100_reason", .string),
    ], functions: [
        FunctionSpec("t_relay", args: [.string, .int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, _ in
            ctx.test.trace.append("relay")
            return 1
        },
        FunctionSpec("t_newtran", allowedRoutes: [.request]) { _, _ in 1 },
        FunctionSpec("t_check_trans") { _, _ in -1 },
        FunctionSpec("t_reply", args: [.int, .string], allowedRoutes: [.request, .failure]) { ctx, args in
            ctx.test.trace.append("t_reply \(args.value(0, &ctx)) \(args.string(1, &ctx))")
            return 1
        },
        FunctionSpec("t_on_failure", args: [.routeName(.failure, runsAs: nil)], allowedRoutes: [.request, .failure, .branch]) { ctx, args in
            let i = args.route(0, &ctx) ?? -1
            ctx.test.trace.append("on_failure \(ctx.program.routes[i].name ?? "?")")
            return 1
        },
        FunctionSpec("t_on_reply", args: [.routeName(.onreply, runsAs: nil)]) { _, _ in 1 },
    ])

    static let pv = ModuleSpec(name: "pv", params: [ModuleParamSpec("shvset", .string)], variables: [
        VariableClassSpec("ru", get: { ctx, _ in .string(ctx.test.ruri) },
                          set: { ctx, _, v in ctx.test.ruri = v.stringValue; return true }),
        VariableClassSpec("rm") { ctx, _ in .string(ctx.test.method) },
        VariableClassSpec("fU") { _, _ in .string("alice") },
        VariableClassSpec("tU") { _, _ in .string("bob") },
        VariableClassSpec("fd") { _, _ in .string("example.org") },
        VariableClassSpec("ci") { _, _ in .string("call-1") },
        VariableClassSpec("mt") { _, _ in .int(1) },
        VariableClassSpec("hdr", nameRule: .required) { _, name in .string("hdr:\(name.name ?? "")") },
        VariableClassSpec("avp", nameRule: .required, get: { ctx, name in ctx.test.avps[name.name ?? ""] ?? .null },
                          set: { ctx, name, v in ctx.test.avps[name.name ?? ""] = v; return true }),
        VariableClassSpec("xavp", nameRule: .required, validateName: { $0.contains("=>") ? nil : "needs list=>key" },
                          get: { _, name in .string("xavp:\(name.name ?? "")") }),
        VariableClassSpec("T", nameRule: .required, validateName: { ["id_index", "id_label", "reply_code"].contains($0) ? nil : "unknown $T key" },
                          get: { _, _ in .int(0) }),
    ])

    static let htable = ModuleSpec(name: "htable", params: [ModuleParamSpec("htable", .string)], variables: [
        VariableClassSpec("sht", nameRule: .required, get: { ctx, name in ctx.test.htable[name.name ?? ""] ?? .null },
                          set: { ctx, name, v in ctx.test.htable[name.name ?? ""] = v; return true }),
    ])

    static let textops = ModuleSpec(name: "textops", functions: [
        FunctionSpec("is_method", args: [.string]) { ctx, args in
            args.string(0, &ctx).split(separator: "|").contains { $0 == ctx.test.method } ? 1 : -1
        },
        FunctionSpec("append_hf", args: [.string]) { ctx, args in
            ctx.test.trace.append("append_hf " + args.string(0, &ctx).replacingNewlines())
            return 1
        },
    ])
}

extension String {
    func replacingNewlines() -> String {
        var out = ""
        for c in self { out += c == "\n" ? "\\n" : String(c) }
        return out
    }
}
