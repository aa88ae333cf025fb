// respite: the server. Kamailio's command line; everything else is in the Runtime target.
import ArgumentParser
import Runtime
#if canImport(Glibc)
import Glibc
#endif

struct Respite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respite",
        abstract: "A SIP server that reads Kamailio's configuration language, built around its async module.",
        discussion: "Options follow Kamailio 5.6's; see respite(8) and docs/operations.md.")

    @Option(name: .customShort("f"), help: ArgumentHelp("Configuration file.", valueName: "file"))
    var config = "etc/respite.cfg"

    @Flag(name: .customShort("c"), help: "Check the configuration (every load-time check) and exit.")
    var check = false

    @Flag(name: .customLong("cfg-print"), help: "Print the configuration after preprocessing (includes inlined, #!ifdef evaluated) and exit.")
    var cfgPrint = false

    @Option(name: .customShort("m"), help: ArgumentHelp("Shared memory in megabytes (default: shm_mem_size, else 64).", valueName: "MB"))
    var sharedMemory: Int?

    @Option(name: .customShort("M"), help: ArgumentHelp("Private memory in megabytes: accepted and recorded for Kamailio's command lines; Respite has no per-process memory pool, so it has no effect.", valueName: "MB"))
    var privateMemory: Int?

    @Flag(name: .customShort("D"), help: "-D or -DD: stay in the foreground; none or -DDD: detach (the starting process exits 0 once every process started, non-zero with the reason otherwise).")
    var foreground: Int

    @Flag(name: .customShort("E"), help: "Log to standard error.")
    var logToStandardError = false

    @Flag(name: .customShort("d"), help: "Debug level: each -d raises it by one from 0 (-dd, -ddd), over the config's debug.")
    var debugCount: Int

    @Option(name: .customLong("debug"), help: ArgumentHelp("Debug level value (-5 to 3), over the config's debug.", valueName: "N"))
    var debugValue: Int?

    @Option(name: .customLong("log-engine"), help: ArgumentHelp("Log engine: json (one JSON object a line) or text; over log_engine_type.", valueName: "engine"))
    var logEngine: String?

    @Option(name: .customShort("l"), help: ArgumentHelp("Listen address udp:IP:PORT (repeatable; replaces the config's listen lines).", valueName: "address"))
    var listen: [String] = []

    @Option(name: .customShort("n"), help: ArgumentHelp("Receiver processes per listen socket.", valueName: "N"))
    var children: Int?

    @Option(name: .customShort("A"), help: ArgumentHelp("Define NAME (or NAME=value) for #!ifdef and #!define.", valueName: "NAME[=value]"))
    var define: [String] = []

    @Option(name: .customShort("P"), help: ArgumentHelp("Write the master's pid to this file.", valueName: "file"))
    var pidFile: String?

    @Option(name: .customShort("u"), help: ArgumentHelp("Run as this user (name or uid) once the sockets are bound and the arena exists (needs root).", valueName: "user"))
    var user: String?

    @Option(name: .customShort("g"), help: ArgumentHelp("Run as this group (name or gid); default with -u: the user's group.", valueName: "group"))
    var group: String?

    @Option(name: .customShort("Y"), help: ArgumentHelp("Run directory for runtime files (default: run_dir, else /run/respite; /tmp/respite-<uid> when it cannot be made).", valueName: "dir"))
    var runDirectory: String?

    @Option(name: .customShort("L"), help: ArgumentHelp("Module path: accepted for Kamailio's command lines and ignored (Respite's modules are built in).", valueName: "path"))
    var modulePath: String?

    @Option(name: .customLong("shm-name"), help: ArgumentHelp("Name of the shared-memory arena (default /respite-<pid>); respite-shm opens it.", valueName: "name"))
    var shmName: String?

    @Flag(name: [.customShort("V"), .customShort("v"), .customLong("version")], help: "Print the version and build flags and exit.")
    var printVersion = false

    func run() throws {
        if printVersion {
            print(Server.versionText)
            return
        }
        var options = ServerOptions()
        options.configPath = config
        options.checkOnly = check
        options.sharedMemoryMB = sharedMemory
        options.privateMemoryMB = privateMemory
        options.foreground = foreground
        options.logToStandardError = logToStandardError
        options.listen = listen
        options.children = children
        options.pidFile = pidFile
        options.shmName = shmName
        options.user = user
        options.group = group
        options.runDirectory = runDirectory
        options.logEngine = logEngine
        options.debugLevel = debugValue ?? (debugCount > 0 ? debugCount : nil)
        for d in define {
            let (name, value) = ServerOptions.define(d)
            options.defines[name] = value
        }
        if cfgPrint {
            let status = Server.printConfig(options)
            if status != 0 { throw ExitCode(status) }
            return
        }
        if let modulePath {
            Server.printNotice("respite: NOTICE: -L \(modulePath) ignored: Respite's modules are built in")
        }
        let status = Server.run(options)
        if status != 0 { throw ExitCode(status) }
    }
}

Respite.main()
