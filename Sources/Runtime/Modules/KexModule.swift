import Script

/// kex: Kamailio's core extensions. Loading it gives the `stats.*` RPC methods (statistics
/// live in the arena), the `$du` functions (CoreURIFunctions.swift), and the branch and
/// script flags.
enum KexModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "kex", functions: CoreURIFunctions.kexFunctions + flagFunctions + [pvPrintf, kmAppendBranch])
    }

    /// `pv_printf(var, format)`: the format with its variables filled in, assigned to var.
    static let pvPrintf = FunctionSpec("pv_printf", args: [.variable, .string]) { ctx, args in
        let text = args.string(1, &ctx)
        return args.assign(0, .string(text), &ctx) ? 1 : -1
    }

    /// `km_append_branch([uri])`: kex's older name of corex's `append_branch`.
    static var kmAppendBranch: FunctionSpec {
        var spec = CoreURIFunctions.appendBranch
        spec.name = "km_append_branch"
        spec.args = [.string]
        return spec
    }

    /// Branch flags (`setbflag(flag[, branch])`...) belong to a branch of the destination
    /// set: branch 0 is the Request-URI's, kept with the script's edits and so with the
    /// transaction. Script flags (`setsflag`...) last while the script runs for one message.
    /// The bit of a flag argument (and branch 0 only); nil, logged, otherwise.
    static func flag(_ args: CallArgs, _ ctx: inout ExecContext) -> UInt64? {
            guard let n = args.int(0, &ctx), (0..<64).contains(n) else { return nil }
            if args.count > 1, let branch = args.int(1, &ctx), branch != 0 {
                ctx.message.process.log.error("kex", "branch flags of branch \(branch): only branch 0 (the Request-URI's) has flags in Respite")
                return nil
            }
            return 1 << UInt64(n)
    }

    static var flagFunctions: [FunctionSpec] {
        let checkFlag: @Sendable (inout FixupContext) -> Void = { fc in
            if let n = fc.staticInt(0), !(0..<64).contains(n) { fc.error("flag \(n) is not between 0 and 63", argument: 0) }
        }
        return [
            FunctionSpec("setbflag", args: [.int, .int], minArgs: 1, fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                ctx.message.edits.branchFlags |= bit
                return 1
            },
            FunctionSpec("resetbflag", args: [.int, .int], minArgs: 1, fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                ctx.message.edits.branchFlags &= ~bit
                return 1
            },
            FunctionSpec("isbflagset", args: [.int, .int], minArgs: 1, fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                return ctx.message.edits.branchFlags & bit != 0 ? 1 : -1
            },
            FunctionSpec("setsflag", args: [.int], fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                ctx.message.scriptFlags |= bit
                return 1
            },
            FunctionSpec("resetsflag", args: [.int], fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                ctx.message.scriptFlags &= ~bit
                return 1
            },
            FunctionSpec("issflagset", args: [.int], fixup: checkFlag) { ctx, args in
                guard let bit = flag(args, &ctx) else { return -1 }
                return ctx.message.scriptFlags & bit != 0 ? 1 : -1
            },
        ]
    }
}
