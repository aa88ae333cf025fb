import Script

extension TestRegistry {
    /// Fakes of the async module's nine functions: they record the call, and the sleeping ones
    /// keep their resume point so the golden harness can resume there.
    static let async: ModuleSpec = {
        let suspending: RouteTypeSet = [.request, .failure]
        let seconds: @Sendable (inout FixupContext) -> Void = { fc in
            let i = fc.argumentCount - 1
            if let n = fc.staticInt(i), !(1...100).contains(n) {
                fc.error("seconds out of range 1..100: \(n)", argument: i)
            }
        }
        let milliseconds: @Sendable (inout FixupContext) -> Void = { fc in
            if (fc.settings.modparamInt("async", "ms_timer") ?? 0) <= 0 {
                fc.error("\(fc.functionName) needs modparam(\"async\", \"ms_timer\", N) with N > 0")
            }
            let i = fc.argumentCount - 1
            if let n = fc.staticInt(i), !(1...30000).contains(n) {
                fc.error("milliseconds out of range 1..30000: \(n)", argument: i)
            }
        }
        @Sendable func record(_ ctx: inout ExecContext, _ text: String) { ctx.test.trace.append(text) }
        @Sendable func routeName(_ ctx: inout ExecContext, _ args: CallArgs, _ i: Int) -> String? {
            guard let r = args.route(i, &ctx) else { return nil }
            return ctx.program.routes[r].name
        }
        let resumeRoute = ArgKind.routeName(.route, runsAs: .failure)
        return ModuleSpec(name: "async", params: [
            ModuleParamSpec("workers", .int, default: .int(1)),
            ModuleParamSpec("ms_timer", .int, default: .int(0)),
            ModuleParamSpec("return", .int, default: .int(0)),
        ], functions: [
            FunctionSpec("async_route", args: [resumeRoute, .int], allowedRoutes: suspending, fixup: seconds) { ctx, args in
                guard let r = routeName(&ctx, args, 0), let s = args.int(1, &ctx) else { return -1 }
                record(&ctx, "async_route \(r) \(s)")
                return 0
            },
            FunctionSpec("async_ms_route", args: [resumeRoute, .int], allowedRoutes: suspending, fixup: milliseconds) { ctx, args in
                guard let r = routeName(&ctx, args, 0), let s = args.int(1, &ctx) else { return -1 }
                record(&ctx, "async_ms_route \(r) \(s)")
                return 0
            },
            FunctionSpec("async_sleep", args: [.int], allowedRoutes: suspending, needsFollowingActions: true, fixup: seconds) { ctx, args in
                guard let s = args.int(0, &ctx) else { return -1 }
                record(&ctx, "async_sleep \(s)")
                ctx.test.resumePoint = ctx.resumePointAfterCurrentAction
                return 0
            },
            FunctionSpec("async_ms_sleep", args: [.int], allowedRoutes: suspending, needsFollowingActions: true, fixup: milliseconds) { ctx, args in
                guard let s = args.int(0, &ctx) else {
                    record(&ctx, "async_ms_sleep: not an integer")
                    return -1
                }
                record(&ctx, "async_ms_sleep \(s)")
                ctx.test.resumePoint = ctx.resumePointAfterCurrentAction
                return 0
            },
            FunctionSpec("async_task_route", args: [resumeRoute, .string], minArgs: 1, allowedRoutes: suspending) { ctx, args in
                guard let r = routeName(&ctx, args, 0) else { return -1 }
                record(&ctx, "async_task_route \(r)" + (args.count > 1 ? " " + args.string(1, &ctx) : ""))
                return 0
            },
            FunctionSpec("async_task_group_route", args: [resumeRoute, .string], allowedRoutes: suspending) { ctx, args in
                guard let r = routeName(&ctx, args, 0) else { return -1 }
                record(&ctx, "async_task_group_route \(r) \(args.string(1, &ctx))")
                return 0
            },
            FunctionSpec("async_task_data", args: [.routeName(.route, runsAs: .request), .string, .string], minArgs: 2) { ctx, args in
                guard let r = routeName(&ctx, args, 0) else { return -1 }
                let rest = (1..<args.count).map { args.string($0, &ctx) }.joined(separator: " | ")
                record(&ctx, "async_task_data \(r) \(rest)")
                return 1
            },
            FunctionSpec("async_task_group_data", args: [.routeName(.route, runsAs: .request), .string, .string]) { ctx, args in
                guard let r = routeName(&ctx, args, 0) else { return -1 }
                record(&ctx, "async_task_group_data \(r) \(args.string(1, &ctx)) \(args.string(2, &ctx))")
                return 1
            },
            FunctionSpec("async_tkv_emit", args: [.int, .string, .string]) { ctx, args in
                record(&ctx, "async_tkv_emit \(args.value(0, &ctx)) \(args.string(1, &ctx)) \(args.string(2, &ctx))")
                return 1
            },
        ], variables: [
            VariableClassSpec("async", nameRule: .required) { _, _ in .null },
            VariableClassSpec("atkv", nameRule: .required) { _, _ in .null },
        ])
    }()
}
