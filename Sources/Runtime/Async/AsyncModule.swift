import Script
import Shared

/// The async module: the nine functions (docs/async.md#functions), `$async(...)`, and
/// their load-time checks (docs/async.md#load-time-checks).
enum AsyncModule {
    static var spec: ModuleSpec {
        let suspending: RouteTypeSet = [.request, .failure]
        return ModuleSpec(name: "async", params: [
            ModuleParamSpec("workers", .int, default: .int(1), validate: nonNegative),
            ModuleParamSpec("ms_timer", .int, default: .int(0), validate: nonNegative),
            ModuleParamSpec("return", .int, default: .int(0)),
            ModuleParamSpec("mode", .int, default: .int(0)) { v in
                if case .int(let n) = v, n != 0 && n != 1 { return "mode is 0 (with tm) or 1 (tkv only)" }
                return nil
            },
            ModuleParamSpec("ms_queue_max", .int, default: .int(100_000), validate: nonNegative),
        ], functions: [
            FunctionSpec("async_route", args: [.routeName(.route, runsAs: .failure), .int], allowedRoutes: suspending,
                         fixup: checks(.ring)) { ctx, args in
                guard let route = route(args, 0, &ctx), let s = value(args, 1, &ctx, in: 1...100, "seconds") else { return -1 }
                return suspend(&ctx, .route(route), wait: .ring(s * 1000))
            },
            FunctionSpec("async_ms_route", args: [.routeName(.route, runsAs: .failure), .int], allowedRoutes: suspending,
                         fixup: checks(.ms)) { ctx, args in
                guard let route = route(args, 0, &ctx), let ms = value(args, 1, &ctx, in: 1...30_000, "milliseconds") else { return -1 }
                return suspend(&ctx, .route(route), wait: .ms(ms))
            },
            FunctionSpec("async_sleep", args: [.int], allowedRoutes: suspending, needsFollowingActions: true,
                         fixup: checks(.ring)) { ctx, args in
                guard let s = value(args, 0, &ctx, in: 1...100, "seconds") else { return -1 }
                return suspend(&ctx, ResumeTarget(ctx.resumePointAfterCurrentAction), wait: .ring(s * 1000))
            },
            FunctionSpec("async_ms_sleep", args: [.int], allowedRoutes: suspending, needsFollowingActions: true,
                         fixup: checks(.ms)) { ctx, args in
                guard let ms = value(args, 0, &ctx, in: 1...30_000, "milliseconds") else { return -1 }
                return suspend(&ctx, ResumeTarget(ctx.resumePointAfterCurrentAction), wait: .ms(ms))
            },
            FunctionSpec("async_task_route", args: [.routeName(.route, runsAs: .failure)], allowedRoutes: suspending,
                         fixup: checks(.task(nil))) { ctx, args in
                guard let route = route(args, 0, &ctx) else { return -1 }
                return suspend(&ctx, .route(route), wait: .queue(AsyncConfig.defaultGroup))
            },
            FunctionSpec("async_task_group_route", args: [.routeName(.route, runsAs: .failure), .string], allowedRoutes: suspending,
                         fixup: checks(.task(1))) { ctx, args in
                guard let route = route(args, 0, &ctx) else { return -1 }
                return suspend(&ctx, .route(route), wait: .queue(args.string(1, &ctx)))
            },
            FunctionSpec("async_task_data", args: [.routeName(.route, runsAs: .request), .string], fixup: checks(.data(nil))) { ctx, args in
                guard let route = route(args, 0, &ctx) else { return -1 }
                return pushData(&ctx, route: route, group: AsyncConfig.defaultGroup, data: args.string(1, &ctx))
            },
            FunctionSpec("async_task_group_data", args: [.routeName(.route, runsAs: .request), .string, .string],
                         fixup: checks(.data(1))) { ctx, args in
                guard let route = route(args, 0, &ctx) else { return -1 }
                return pushData(&ctx, route: route, group: args.string(1, &ctx), data: args.string(2, &ctx))
            },
            FunctionSpec("async_tkv_emit", args: [.int, .string, .string], fixup: checks(.tkv)) { ctx, args in
                guard let type = args.int(0, &ctx) else {
                    ctx.message.process.log.error("async", "async_tkv_emit: the type must be an integer")
                    return -1
                }
                return pushTkv(&ctx, type: type, key: args.string(1, &ctx), value: args.string(2, &ctx))
            },
        ], variables: [
            VariableClassSpec("async", nameRule: .required, validateName: { n in
                ["data", "gname"].contains(n) ? nil : "unknown $async(\(n)) (use data or gname)"
            }) { ctx, name in
                let m = ctx.message
                switch name.name {
                case "data": return m.async.data.map { .string($0) } ?? .null
                default: return m.process.async?.workerGroup.map { .string($0) } ?? .null
                }
            },
        ])
    }

    static let nonNegative: @Sendable (ConfigValue) -> String? = { v in
        if case .int(let n) = v, n < 0 { return "must not be negative" }
        return nil
    }

    /// A route argument: the index, or nil (logged) for a dynamic name that names no route.
    static func route(_ args: CallArgs, _ i: Int, _ ctx: inout ExecContext) -> Int? {
        if let r = args.route(i, &ctx) { return r }
        ctx.message.process.log.error("async", "no route named '\(args.string(i, &ctx))'")
        ctx.message.process.async?.count(.refused)
        return nil
    }

    /// A sleep value: an integer (literal or variable holding one) within `range`.
    static func value(_ args: CallArgs, _ i: Int, _ ctx: inout ExecContext, in range: ClosedRange<Int>, _ unit: String) -> Int? {
        let log = ctx.message.process.log
        guard let n = args.int(i, &ctx) else {
            log.error("async", "the \(unit) value is not an integer (a string, even \"2\", must be converted with {s.int})")
            ctx.message.process.async?.count(.refused)
            return nil
        }
        guard range.contains(n) else {
            log.error("async", "\(n) \(unit) is out of range \(range.lowerBound)..\(range.upperBound)")
            ctx.message.process.async?.count(.refused)
            return nil
        }
        return n
    }
}
