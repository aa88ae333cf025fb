import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// What `respite` prints without starting: its version (`-V`) and its preprocessed
/// config (`--cfg-print`).
extension Server {
    /// `-V`: lines in the shape of Kamailio's `version:` and `flags:` lines.
    public static var versionText: String {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let system = withUnsafeBytes(of: &name.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return """
            version: respite \(ServerSettings.version) (\(machine)/\(system.lowercased()))
            flags: USE_TCP, USE_DNS_CACHE, USE_DNS_FAILOVER, SHM_ARENA, BUILTIN_MODULES, LOG_ENGINE_JSON
            modules: built in (\(builtInModules.joined(separator: ", ")))
            """
    }

    /// The modules a config can load (every one is part of the binary).
    static var builtInModules: [String] {
        RuntimeRegistry.make().modules.keys.sorted()
    }

    /// A line on standard error, for the command line's notices.
    public static func printNotice(_ text: String) { Posix.printError(text) }

    /// `--cfg-print`: writes the config after preprocessing to standard output; returns
    /// the exit status.
    public static func printConfig(_ options: ServerOptions) -> Int32 {
        var printer = ConfigPrinter(defines: options.defines)
        switch printer.print(path: options.configPath) {
        case .success(let text):
            ServerLog.writeAll(1, text)
            return 0
        case .failure(let failure):
            Posix.printError("respite: \(failure.message)")
            return 1
        }
    }
}
