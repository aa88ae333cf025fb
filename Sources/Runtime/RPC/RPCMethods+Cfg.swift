import Shared

/// `cfg.*` (Kamailio's cfg_rpc): read and change the settings a running server lets an
/// operator change, for every process at once (section "cfg" of the arena).
extension RPCMethods {
    /// The changeable settings the master declares.
    static func changeableSettings(logLevel: LogLevel) -> [ChangeableSettings.Declaration] {
        [
            .init(group: "core", name: "debug", description: "log level: -5 (alert) to 3 (debug)",
                  value: logLevel.rawValue, range: -5...7),
        ]
    }

    static var cfg: [RPCMethod] {
        [
            RPCMethod("cfg.get", help: "Gets the value of a setting: cfg.get GROUP NAME.") { call throws(RPCFault) in
                let (settings, index) = try setting(call)
                return [.int(settings.value(index))]
            },
            RPCMethod("cfg.set", help: "Sets a setting in every process at once: cfg.set GROUP NAME VALUE.") { call throws(RPCFault) in
                try set(call)
            },
            RPCMethod("cfg.seti", help: "Sets an integer setting: cfg.seti GROUP NAME VALUE.") { call throws(RPCFault) in
                try set(call)
            },
            RPCMethod("cfg.set_now_int", help: "Sets an integer setting now: cfg.set_now_int GROUP NAME VALUE.") { call throws(RPCFault) in
                try set(call)
            },
            RPCMethod("cfg.list", help: "Lists the settings that can be changed at run time: cfg.list [GROUP].", returnsArray: true) { call throws(RPCFault) in
                guard let settings = call.process.arena.changeableSettings else { return [] }
                let group = try call.optionalString(0, "group")
                return settings.all.filter { group == nil || $0.group == group }.map { .string("\($0.group): \($0.name)") }
            },
            RPCMethod("cfg.help", help: "Describes a setting: cfg.help GROUP NAME.") { call throws(RPCFault) in
                let (settings, index) = try setting(call)
                let s = settings.setting(index)
                return [.string("\(s.description) (\(s.range.lowerBound)...\(s.range.upperBound))")]
            },
        ]
    }

    private static func setting(_ call: RPCCall) throws(RPCFault) -> (ChangeableSettings, Int32) {
        let group = try call.string(0, "group"), name = try call.string(1, "name")
        guard let settings = call.process.arena.changeableSettings, let index = settings.index(group: group, name: name) else {
            throw RPCFault(400, "Failed to get the variable")
        }
        return (settings, index)
    }

    private static func set(_ call: RPCCall) throws(RPCFault) -> [RPCValue] {
        let (settings, index) = try setting(call)
        let value = try call.int(2, "value")
        guard settings.set(index, value) else {
            let s = settings.setting(index)
            throw RPCFault(400, "\(s.group).\(s.name) must be between \(s.range.lowerBound) and \(s.range.upperBound)")
        }
        let s = settings.setting(index)
        call.process.log.notice("rpc", "cfg.set: \(s.group).\(s.name) is now \(value)")
        return []
    }
}
