import Script

/// corex: `$atkv(type|key|val|gname)` in the tkv event route, and `append_branch`
/// (CoreURIFunctions.swift).
enum CorexModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "corex", functions: [CoreURIFunctions.appendBranch], variables: [
            VariableClassSpec("atkv", nameRule: .required, validateName: { n in
                ["type", "key", "val", "gname"].contains(n) ? nil : "unknown $atkv(\(n)) (use type, key, val or gname)"
            }) { ctx, name in
                let m = ctx.message
                guard let tkv = m.async.tkv else { return .null }
                switch name.name {
                case "type": return .int(tkv.type)
                case "key": return .string(tkv.key)
                case "val": return .string(tkv.value)
                default: return m.process.async?.workerGroup.map { .string($0) } ?? .null
                }
            },
        ])
    }
}
