import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The method table of a server: the core's methods, and those of each loaded module.
enum RPCMethods {
    static func table(for settings: ConfigSettings) -> RPCMethodTable {
        var methods = core
        let modules = settings.modules
        if modules.contains("tm") { methods += tm }
        if modules.contains("sl") { methods += sl }
        if modules.contains("htable") { methods += htable }
        if modules.contains("usrloc") { methods += usrloc }
        if modules.contains("cfg_rpc") { methods += cfg }
        if modules.contains("kex") || modules.contains("counters") { methods += statistics }
        if modules.contains("async") || settings.core["async_workers_group"] != nil { methods += async }
        var table = RPCMethodTable(methods)
        let help = Dictionary(uniqueKeysWithValues: methods.map { ($0.name, $0.help) })
        let names = (methods.map(\.name) + ["system.listMethods", "system.methodHelp"]).sorted()
        table.add(RPCMethod("system.listMethods", help: "Lists the RPC methods this server answers.", returnsArray: true) { _ throws(RPCFault) in
            names.map { .string($0) }
        })
        table.add(RPCMethod("system.methodHelp", help: "Prints the help of a method: system.methodHelp NAME.") { call throws(RPCFault) in
            let name = try call.string(0, "method name")
            switch name {
            case "system.listMethods": return [.string("Lists the RPC methods this server answers.")]
            case "system.methodHelp": return [.string("Prints the help of a method: system.methodHelp NAME.")]
            default:
                guard let text = help[name] else { throw RPCFault(400, "command not found") }
                return [.string(text)]
            }
        })
        return table
    }

    /// `Tue Dec  1 18:43:56 2026`, as Kamailio's core.uptime prints times (ctime, local time).
    static func clockText(_ seconds: time_t) -> String {
        var t = seconds
        var buffer = [CChar](repeating: 0, count: 32)
        guard ctime_r(&t, &buffer) != nil else { return String(seconds) }
        return String(cString: buffer).trimmingCharacters(in: .newlines)
    }

    /// The platform, as version lines print it.
    static var platform: String {
        #if arch(x86_64)
        return "x86_64/linux"
        #elseif arch(arm64)
        return "aarch64/linux"
        #else
        return "linux"
        #endif
    }

    static var versionLine: String { "respite \(ServerSettings.version) (\(platform))" }
}
