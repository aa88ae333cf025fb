extension ScriptRegistry {
    /// A registry with what the Script target implements itself: the core parameters Respite
    /// accepts (the runtime may re-register them with validators), `max_while_loops`, the flag
    /// functions and `$rc`. The runtime adds modules and message variables on top.
    public static func standard() -> ScriptRegistry {
        var r = ScriptRegistry()
        for p in standardCoreParams + NoEffectParams.specs { r.register(p) }
        // Kamailio reads these words as numbers everywhere (`enable_sctp=no`, `if (yes)`).
        for word in ["yes", "true", "on", "enable"] { r.register(keywordConstant: word, .int(1)) }
        for word in ["no", "false", "off", "disable"] { r.register(keywordConstant: word, .int(0)) }
        let flagArg: @Sendable (inout FixupContext) -> Void = { fc in
            if let n = fc.staticInt(0), !(0...63).contains(n) {
                fc.error("flag \(n) is out of range 0..63", argument: 0)
            }
        }
        r.register(coreFunction: FunctionSpec("setflag", args: [.int], fixup: flagArg) { ctx, args in
            guard let n = args.int(0, &ctx) else { return -1 }
            ctx.setFlag(n)
            return 1
        })
        r.register(coreFunction: FunctionSpec("resetflag", args: [.int], fixup: flagArg) { ctx, args in
            guard let n = args.int(0, &ctx) else { return -1 }
            ctx.resetFlag(n)
            return 1
        })
        r.register(coreFunction: FunctionSpec("isflagset", args: [.int], fixup: flagArg) { ctx, args in
            guard let n = args.int(0, &ctx) else { return -1 }
            return ctx.isFlagSet(n) ? 1 : -1
        })
        let rc = VariableClassSpec("rc") { ctx, _ in .int(ctx.lastReturnCode) }
        r.register(coreVariable: rc)
        var retcode = rc
        retcode.name = "retcode"
        r.register(coreVariable: retcode)
        return r
    }

    private static let positive: @Sendable (ConfigValue) -> String? = { v in
        if case .int(let i) = v, i < 0 { return "must not be negative" }
        return nil
    }

    /// The core parameters Respite accepts, under Kamailio's names and with Kamailio's defaults.
    static let standardCoreParams: [CoreParamSpec] = [
        CoreParamSpec("listen", .raw, repeatable: true),
        CoreParamSpec("alias", .raw, repeatable: true),
        CoreParamSpec("port", .int, default: .int(5060)),
        CoreParamSpec("children", .int, default: .int(8), validate: positive),
        CoreParamSpec("debug", .int, default: .int(2)),
        CoreParamSpec("log_stderror", .bool, default: .int(0)),
        CoreParamSpec("log_prefix", .string, isFormat: true),
        CoreParamSpec("log_facility", .raw, default: .string("LOG_DAEMON")),
        CoreParamSpec("log_name", .string),
        CoreParamSpec("fork", .bool, default: .int(1)),
        CoreParamSpec("disable_tcp", .bool, default: .int(0)),
        CoreParamSpec("auto_aliases", .bool, default: .int(1)),
        CoreParamSpec("mpath", .string),
        CoreParamSpec("async_workers", .int, default: .int(0), validate: positive),
        CoreParamSpec("async_nonblock", .bool, default: .int(0)),
        CoreParamSpec("async_usleep", .int, default: .int(0), validate: positive),
        CoreParamSpec("async_workers_group", .string, repeatable: true),
        CoreParamSpec("async_tkv_gname", .string),
        CoreParamSpec("async_tkv_evcb", .string),
        CoreParamSpec("shm_mem_size", .int, validate: positive),
        CoreParamSpec("pkg_mem_size", .int, validate: positive),
        CoreParamSpec("max_while_loops", .int, default: .int(100), validate: positive),
        CoreParamSpec("memdbg", .int),
        CoreParamSpec("memlog", .int),
        CoreParamSpec("server_header", .string),
        CoreParamSpec("user_agent_header", .string),
    ]
}
