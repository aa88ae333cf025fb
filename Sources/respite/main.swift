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
        version: "respite \(ServerSettings.version)")

    @Option(name: .customShort("f"), help: "Configuration file.")
    var config = "etc/respite.cfg"

    @Flag(name: .customShort("c"), help: "Check the configuration (every load-time check) and exit.")
    var check = false

    @Option(name: .customShort("m"), help: "Shared memory in megabytes (default: shm_mem_size, else 64).")
    var sharedMemory: Int?

    @Flag(name: .customShort("D"), help: "Stay in the foreground (-D or -DD; without it the server detaches).")
    var foreground: Int

    @Flag(name: .customShort("E"), help: "Log to standard error.")
    var logToStandardError = false

    @Option(name: .customShort("l"), help: "Listen address udp:IP:PORT (repeatable; replaces the config's listen lines).")
    var listen: [String] = []

    @Option(name: .customShort("n"), help: "Receiver processes per listen socket.")
    var children: Int?

    @Option(name: .customShort("A"), help: "Define NAME (or NAME=value) for #!ifdef and #!define.")
    var define: [String] = []

    @Option(name: .customShort("P"), help: "Write the master's pid to this file.")
    var pidFile: String?

    @Option(name: .customLong("shm-name"), help: "Name of the shared-memory arena (default /respite-<pid>); respite-shm opens it.")
    var shmName: String?

    @Flag(name: .customShort("V"), help: "Print the version and exit.")
    var printVersion = false

    func run() throws {
        if printVersion {
            print("respite \(ServerSettings.version)")
            return
        }
        var options = ServerOptions()
        options.configPath = config
        options.checkOnly = check
        options.sharedMemoryMB = sharedMemory
        options.foreground = foreground
        options.logToStandardError = logToStandardError
        options.listen = listen
        options.children = children
        options.pidFile = pidFile
        options.shmName = shmName
        for d in define {
            let (name, value) = ServerOptions.define(d)
            options.defines[name] = value
        }
        let status = Server.run(options)
        if status != 0 { throw ExitCode(status) }
    }
}

Respite.main()
