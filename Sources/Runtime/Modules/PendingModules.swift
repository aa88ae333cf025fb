import Script

/// Modules whose names Respite knows but does not implement yet: a config that uses them
/// gets "X is not yet available in Respite" at load time, not "unknown function".
enum PendingModules {
    static func pending(_ module: String, _ reason: String, functions: [(String, Int, Int)],
                        variables: [String] = [], params: [String] = []) -> ModuleSpec {
        let status = Availability.notYetAvailable(reason)
        return ModuleSpec(
            name: module,
            params: params.map { ModuleParamSpec($0, .intOrString) },
            functions: functions.map { name, minArgs, maxArgs in
                FunctionSpec(name, args: Array(repeating: .any, count: maxArgs), minArgs: minArgs, status: status) { _, _ in -1 }
            },
            variables: variables.map { VariableClassSpec($0, nameRule: .optional, status: status) { _, _ in .null } })
    }

    static let tm = pending("tm", "transactions arrive with the tm issue", functions: [
        ("t_newtran", 0, 0), ("t_check_trans", 0, 0), ("t_relay", 0, 2), ("t_reply", 2, 2),
        ("t_set_fr", 1, 2), ("t_on_failure", 1, 1), ("t_on_reply", 1, 1), ("t_on_branch", 1, 1),
        ("t_release", 0, 0),
    ], variables: ["T", "T_reply_code"],
       params: ["fr_timer", "fr_inv_timer", "wt_timer", "auto_inv_100", "auto_inv_100_reason",
                "max_inv_lifetime", "max_noninv_lifetime"])

    static let tmx = pending("tmx", "transactions arrive with the tm issue", functions: [
        ("t_suspend", 0, 0), ("t_continue", 3, 3),
    ])

    static let async = pending("async", "the async module arrives after tm", functions: [
        ("async_route", 2, 2), ("async_ms_route", 2, 2), ("async_sleep", 1, 1), ("async_ms_sleep", 1, 1),
        ("async_task_route", 1, 1), ("async_task_group_route", 2, 2), ("async_task_data", 2, 2),
        ("async_task_group_data", 3, 3), ("async_tkv_emit", 3, 3),
    ], variables: ["async"], params: ["workers", "ms_timer", "return", "mode", "ms_queue_max"])

    static let corex = pending("corex", "tkv events arrive with the async module", functions: [],
                               variables: ["atkv"])
}
