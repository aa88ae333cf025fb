import CShared
import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The master ("main process - attendant"): loads the config, creates the arena and the
/// sockets, forks the workers and supervises them. It never handles SIP itself, and stays
/// single-threaded until every fork is done.
public enum Server {
    /// Runs `respite` with its command line; returns the process's exit status.
    public static func run(_ options: ServerOptions) -> Int32 {
        let sharedNames = SharedNameCollector()
        let loader = ScriptLoader(registry: RuntimeRegistry.make(sharedNames: sharedNames), defines: options.defines)
        let loaded = loader.load(path: options.configPath)
        if !loaded.diagnostics.items.isEmpty {
            Posix.printError(loaded.diagnostics.rendered())
        }
        guard let program = loaded.program else {
            Posix.printError("respite: \(options.configPath): \(loaded.diagnostics.errors.count) error(s); nothing started")
            return 1
        }
        let settings: ServerSettings
        switch ServerSettings.from(program.settings, options: options) {
        case .success(let s): settings = s
        case .failure(let e):
            Posix.printError("respite: \(e.message)")
            return 1
        }
        if options.checkOnly {
            Posix.printError("respite: \(options.configPath): config file ok")
            return 0
        }
        if settings.foreground == 0 { Daemon.detach(keepStandardError: settings.logToStandardError) }
        var master = Master(program: program, settings: settings, sharedNames: sharedNames.collected)
        return master.start()
    }
}

struct Master {
    let program: Program
    let settings: ServerSettings
    /// The `$shv` names the config uses: one arena slot each.
    let sharedNames: [String]
    var log: ServerLog
    /// One entry per worker process: how to (re)start it.
    var workers: [WorkerSlot] = []
    var stopping = false

    init(program: Program, settings: ServerSettings, sharedNames: [String]) {
        self.program = program
        self.settings = settings
        self.sharedNames = sharedNames
        self.log = ServerLog(threshold: settings.logLevel, toStandardError: settings.logToStandardError,
                             prefix: settings.logPrefix)
    }

    /// Whether the config loads tm (then the arena gets a transaction table and the master
    /// a `timer` process).
    var usesTM: Bool { program.settings.modules.contains("tm") }

    mutating func start() -> Int32 {
        Arena.removeStale()
        let name = settings.shmName ?? Arena.defaultName(pid: getpid())
        let arena: Arena
        do {
            arena = try Arena.create(name: name, size: settings.sharedMemoryBytes)
        } catch {
            log.critical("core", "cannot create the shared memory arena \(name): \(error)")
            return 1
        }
        let status = serve(arena.ref, name: name)
        do { try arena.unlink() } catch { log.error("core", "cannot remove the arena: \(error)") }
        return status
    }

    /// Everything after the arena exists: sections, sockets, workers, supervision.
    mutating func serve(_ arena: ArenaRef, name: String) -> Int32 {
        let sections: ArenaSections
        let tables: SharedTables
        var transactions: TransactionSections?
        let sockets: [UDPSocket]
        do {
            let receivers = settings.listen.count * settings.children
            sections = try arena.install(ArenaLayout(processCapacity: 1 + receivers + 16))
            let modparams = program.settings.modparams
            // The specs were checked when the config loaded; parsing cannot fail here.
            let shvset = (modparams["pv"]?["shvset"] ?? []).compactMap { try? ShvsetSpec.parse($0.text) }
            let htables = (modparams["htable"]?["htable"] ?? []).compactMap { try? HashTableSpec.parse($0.text) }
            tables = try arena.installTables(shv: sharedNames, shvset: shvset, htables: htables)
            if usesTM {
                let w = TMState.wheelSpec
                transactions = try arena.installTransactions(buckets: 8192, wheels: [(name: w.name, tickMs: w.tickMs, slots: w.slots)])
            }
            sockets = try settings.listen.map { address throws(SystemCallError) in try UDPSocket.bind(address) }
        } catch {
            log.critical("core", "cannot start: \(error)")
            return 1
        }
        arena.setReady()
        if let path = settings.pidFile { PidFile.write(path) }
        defer { if let path = settings.pidFile { PidFile.remove(path) } }

        if let slot = sections.processes.claim(role: CS_ROLE_MAIN, rank: 0, description: "main process - attendant") {
            sections.processes.started(slot: slot, pid: getpid())
        }
        for socket in sockets {
            for child in 0..<settings.children {
                let description = "udp receiver child=\(child) sock=\(socket.address)"
                guard let slot = sections.processes.claim(role: CS_ROLE_UDP_RECEIVER, rank: child, description: description) else {
                    log.critical("core", "process table full")
                    return 1
                }
                workers.append(WorkerSlot(slot: slot, description: description, kind: .udpReceiver(socket)))
            }
        }
        if usesTM {
            guard let slot = sections.processes.claim(role: CS_ROLE_TM_TIMER, rank: 0, description: "timer") else { return 1 }
            workers.append(WorkerSlot(slot: slot, description: "timer", kind: .tmTimer))
        }
        log.notice("core", "respite \(ServerSettings.version) starting: arena \(name) (\(settings.sharedMemoryBytes >> 20) MB), listening on \(sockets.map { "udp:\($0.address)" }.joined(separator: ", ")), \(workers.count) worker processes")

        Signals.blockInMaster()
        let context = WorkerContext(program: program, settings: settings, arena: arena, sections: sections, tables: tables,
                                    transactions: transactions,
                                    sockets: sockets, log: log)
        for i in workers.indices {
            if !spawn(i, context) { return shutdown(context, status: 1) }
        }
        return supervise(context)
    }
}
