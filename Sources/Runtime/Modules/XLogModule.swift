import Script

/// xlog: formatted log lines from the script, at Kamailio's levels.
enum XLogModule {
    static var spec: ModuleSpec {
        var functions = [
            FunctionSpec("xlog", args: [.string, .string], minArgs: 1, fixup: checkLevel) { ctx, args in
                if args.count == 2 {
                    let level = (args.payload as? LogLevel) ?? LogLevel(name: args.string(0, &ctx)) ?? .error
                    return log(&ctx, level, args, 1)
                }
                return log(&ctx, .error, args, 0) // Kamailio: xlog without a level is L_ERR
            },
        ]
        let fixed: [(String, LogLevel)] = [("xdbg", .debug), ("xinfo", .info), ("xnotice", .notice),
                                           ("xwarn", .warning), ("xerr", .error), ("xcrit", .critical),
                                           ("xalert", .alert)]
        for (name, level) in fixed {
            functions.append(FunctionSpec(name, args: [.string]) { ctx, args in log(&ctx, level, args, 0) })
        }
        return ModuleSpec(name: "xlog", functions: functions)
    }

    static let checkLevel: @Sendable (inout FixupContext) -> Void = { fc in
        guard fc.argumentCount == 2, let name = fc.staticString(0) else { return }
        if let level = LogLevel(name: name) {
            fc.payload = level
        } else {
            fc.error("unknown log level '\(name)' (use L_ALERT, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO or L_DBG)", argument: 0)
        }
    }

    static func log(_ ctx: inout ExecContext, _ level: LogLevel, _ args: CallArgs, _ index: Int) -> Int {
        let log = ctx.message.process.log
        guard log.enabled(level) else { return 1 } // skip formatting what nobody will see
        log.write(level, "<script>", args.string(index, &ctx))
        return 1
    }
}
