import SIP
import Script

/// rr: record-routing (`record_route`, `record_route_preset`, `add_rr_param`,
/// `remove_record_route`) and routing along a route set (`loose_route`, in
/// RRModule+LooseRoute.swift), with `check_route_param`, `is_direction` and `$route_uri`.
/// Everything it changes lives in the message's `ScriptEdits.rr` (RREdits.swift); the
/// Record-Route text is written when the request leaves, from the sockets it came in on
/// and goes out of (`MessageContext.recordRouteEdits`).
enum RRModule {
    static let params: [ModuleParamSpec] = [
        ModuleParamSpec("enable_full_lr", .int, default: .int(0)),
        ModuleParamSpec("append_fromtag", .int, default: .int(1)),
        ModuleParamSpec("enable_double_rr", .int, default: .int(1)) { v in
            if case .int(let n) = v, !(0...2).contains(n) { return "must be 0, 1 or 2" }
            return nil
        },
        ModuleParamSpec("add_username", .int, default: .int(0)),
        ModuleParamSpec("enable_socket_mismatch_warning", .int, default: .int(1)),
        ModuleParamSpec("custom_user_avp", .string),
        ModuleParamSpec("force_send_socket", .int, default: .int(0)),
        ModuleParamSpec("ignore_sips", .int, default: .int(0)),
        ModuleParamSpec("sockname_mode", .int, default: .int(0)),
    ]

    static let writing: RouteTypeSet = [.request, .branch, .failure]

    static var spec: ModuleSpec {
        ModuleSpec(name: "rr", params: params, functions: [
            FunctionSpec("record_route", args: [.string], minArgs: 0, allowedRoutes: writing, fixup: checkParams) { ctx, args in
                let m = ctx.message
                guard m.message.isRequest else { return -1 }
                if m.edits.rr.mode != nil {
                    m.process.log.error("rr", "record_route: the request is already record-routed")
                    return -1
                }
                let extra = args.count > 0 ? args.string(0, &ctx) : ""
                guard extra.isEmpty || extra.hasPrefix(";") else {
                    m.process.log.error("rr", "record_route: parameters must start with ';' (got '\(extra)')")
                    return -1
                }
                m.edits.rr.mode = .automatic
                // Parameters given here come before those add_rr_param added earlier.
                m.edits.rr.params = extra + m.edits.rr.params
                return 1
            },
            FunctionSpec("record_route_preset", args: [.string, .string], minArgs: 1, allowedRoutes: writing) { ctx, args in
                let m = ctx.message
                guard m.message.isRequest else { return -1 }
                if m.edits.rr.mode != nil {
                    m.process.log.error("rr", "record_route_preset: the request is already record-routed")
                    return -1
                }
                let first = args.string(0, &ctx)
                let second = args.count > 1 ? args.string(1, &ctx) : nil
                guard !first.isEmpty, second?.isEmpty != true else {
                    m.process.log.error("rr", "record_route_preset: empty address")
                    return -1
                }
                m.edits.rr.mode = .preset(first, second)
                return 1
            },
            FunctionSpec("remove_record_route", allowedRoutes: [.request, .failure]) { ctx, _ in
                ctx.message.edits.rr.mode = nil
                ctx.message.edits.rr.params = ""
                return 1
            },
            FunctionSpec("add_rr_param", args: [.string], allowedRoutes: writing, fixup: checkParams) { ctx, args in
                let m = ctx.message
                let p = args.string(0, &ctx)
                guard p.hasPrefix(";"), p.count > 1 else {
                    m.process.log.error("rr", "add_rr_param: the parameter must be ';name[=value]' (got '\(p)')")
                    return -1
                }
                m.edits.rr.params += p
                return 1
            },
            FunctionSpec("loose_route", allowedRoutes: [.request]) { ctx, _ in ctx.message.looseRoute(preloadedOnly: false, strictCheck: true) },
            FunctionSpec("loose_route_preloaded", allowedRoutes: [.request]) { ctx, _ in
                ctx.message.looseRoute(preloadedOnly: true, strictCheck: true)
            },
            FunctionSpec("loose_route_mode", args: [.int], allowedRoutes: [.request]) { ctx, args in
                ctx.message.looseRoute(preloadedOnly: false, strictCheck: (args.int(0, &ctx) ?? 0) & 1 == 0)
            },
            FunctionSpec("check_route_param", args: [.string], allowedRoutes: [.request], fixup: TextOpsModule.compilePattern) { ctx, args in
                guard let params = ctx.message.edits.rr.routeParams else { return -1 }
                let regex = (args.payload as? CompiledRegex) ?? CompiledRegex(args.string(0, &ctx))
                guard let regex else { return -1 }
                // Kamailio matches against the parameters without their leading ';'.
                return regex.matches(String(params.drop(while: { $0 == ";" }))) ? 1 : -1
            },
            FunctionSpec("is_direction", args: [.string], allowedRoutes: [.request], fixup: checkDirection) { ctx, args in
                let m = ctx.message
                let dir = args.string(0, &ctx).lowercased()
                guard dir == "downstream" || dir == "upstream" else {
                    m.process.log.error("rr", "is_direction: unknown direction '\(dir)'")
                    return -1
                }
                return (m.isDownstream ? "downstream" : "upstream") == dir ? 1 : -1
            },
        ], variables: [
            VariableClassSpec("route_uri") { ctx, _ in
                let m = ctx.message
                if let uri = m.edits.rr.routeURI { return .string(uri) }
                // Before loose_route: the first Route's URI, as Kamailio reads it.
                guard let first = m.routeEntries.first else { return .null }
                return .string(first.uri)
            },
        ])
    }

    static let checkParams: @Sendable (inout FixupContext) -> Void = { fc in
        if let p = fc.staticString(0), !p.isEmpty, !p.hasPrefix(";") {
            fc.error("Record-Route parameters must start with ';' (got '\(p)')", argument: 0)
        }
    }

    static let checkDirection: @Sendable (inout FixupContext) -> Void = { fc in
        if let d = fc.staticString(0), !["downstream", "upstream"].contains(d.lowercased()) {
            fc.error("direction must be \"downstream\" or \"upstream\" (got '\(d)')", argument: 0)
        }
    }
}

/// rr's module parameters, read from the loaded config (Kamailio's defaults).
struct RRSettings {
    var fullLR = false
    var appendFromTag = true
    var doubleRR = 1
    var addUsername = false
    var ignoreSips = false

    init(_ settings: ConfigSettings) {
        if let v = settings.modparamInt("rr", "enable_full_lr") { fullLR = v != 0 }
        if let v = settings.modparamInt("rr", "append_fromtag") { appendFromTag = v != 0 }
        if let v = settings.modparamInt("rr", "enable_double_rr") { doubleRR = v }
        if let v = settings.modparamInt("rr", "add_username") { addUsername = v != 0 }
        if let v = settings.modparamInt("rr", "ignore_sips") { ignoreSips = v != 0 }
    }
}
