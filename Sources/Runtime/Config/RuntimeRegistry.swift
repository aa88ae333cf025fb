import Script

/// Everything a Respite config may name: the Script target's standard registry plus the
/// runtime's modules and core functions, and validators for the core parameters the
/// server itself reads.
public enum RuntimeRegistry {
    /// `sharedNames` collects the `$shv` names the config uses while it loads.
    public static func make(sharedNames: SharedNameCollector = SharedNameCollector()) -> ScriptRegistry {
        var r = ScriptRegistry.standard()
        CoreModule.register(&r)
        TransportVariables.register(&r)
        LocalNames.register(&r)
        CoreSelects.register(&r)
        ReplyConnectionFunctions.register(&r)
        r.register(CoreParamSpec("listen", .raw, repeatable: true) { value in
            if case .failure(let e) = ListenSpec.parse(value.text) { return e.message }
            return nil
        })
        r.register(CoreParamSpec("children", .int, default: .int(8)) { value in
            if case .int(let n) = value, !(1...64).contains(n) { return "children must be between 1 and 64" }
            return nil
        })
        for param in TCPSettings.params { r.register(param) }
        r.register(CoreParamSpec("log_facility", .raw, default: .string("LOG_DAEMON")) { value in
            ServerLog.facility(named: value.text) == nil ? "unknown syslog facility '\(value.text)' (LOG_DAEMON, LOG_USER, LOG_LOCAL0..7)" : nil
        })
        r.register(CoreParamSpec("async_workers_group", .string, repeatable: true) { value in
            if case .failure(let e) = AsyncConfig.parseGroup(value.text) { return e.message }
            return nil
        })
        r.register(CoreParamSpec("shm_mem_size", .int) { value in
            if case .int(let n) = value, !(8...65536).contains(n) { return "shm_mem_size is in MB, between 8 and 65536" }
            return nil
        })
        for param in DNSSettings.paramSpecs { r.register(param) }
        for param in ServerSettings.serviceParamSpecs { r.register(param) }
        for module in [SLModule.spec, XLogModule.spec, PVModule.spec(sharedNames), TextOpsModule.spec,
                       SipUtilsModule.spec, MaxFwdModule.spec, HTableModule.spec, CoreModule.cfgutils, TMModule.spec, TMXModule.spec,
                       AsyncModule.spec, CorexModule.spec, HTTPAsyncClientModule.spec, JanssonModule.spec, TCPOpsModule.spec,
                       XHTTPModule.spec, RRModule.spec] {
            r.register(module)
        }
        r.register(HTTPClientModule.spec)
        r.register(DatabaseModules.sqlite)
        r.register(DatabaseModules.postgres)
        r.register(UsrlocModule.spec)
        r.register(RegistrarModule.spec)
        for module in [AuthModule.spec, AuthDBModule.spec] { r.register(module) }
        r.register(SQLOpsModule.spec)
        for module in [RPCModules.ctl, RPCModules.jsonrpcs, RPCModules.cfgRPC, RPCModules.counters, KexModule.spec, XHTTPPromModule.spec, SanityModule.spec, AccModule.spec, TextOpsXModule.spec] { r.register(module) }
        return r
    }
}
