import Script

/// maxfwd: Max-Forwards checks before relaying.
enum MaxFwdModule {
    static let spec = ModuleSpec(name: "maxfwd", params: [ModuleParamSpec("max_limit", .int, default: .int(70))], functions: [
        FunctionSpec("mf_process_maxfwd_header", args: [.int], allowedRoutes: [.request], fixup: { fc in
            if let n = fc.staticInt(0), !(1...256).contains(n) { fc.error("max-forwards value \(n) is out of range 1..256", argument: 0) }
        }) { ctx, args in
            let m = ctx.message
            guard let value = m.message.maxForwards else {
                // No header: the request goes on with the value given (added when relayed).
                m.edits.maxForwardsToAdd = args.int(0, &ctx) ?? 70
                return 2
            }
            // 0 means the request must not go further: the script answers 483.
            return value == 0 ? -1 : 1
        },
    ])
}
