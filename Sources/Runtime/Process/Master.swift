import Database
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
        var settings: ServerSettings
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
        let databaseErrors = DatabaseStartupCheck.run(program.settings)
        guard databaseErrors.isEmpty else {
            for line in databaseErrors { Posix.printError("respite: \(line)") }
            Posix.printError("respite: \(options.configPath): a database the config needs is not ready; nothing started")
            return 1
        }
        guard let prepared = Daemon.prepare(settings) else { return 1 }
        settings = prepared
        let status = settings.foreground == 0 ? Daemon.detach(keepStandardError: settings.logToStandardError) : nil
        if !settings.logToStandardError {
            var name = "respite"
            if case .string(let n)? = program.settings.core("log_name"), !n.isEmpty { name = n }
            let facility = program.settings.core("log_facility").flatMap { ServerLog.facility(named: $0.text) } ?? LOG_DAEMON
            ServerLog.openSyslog(name: name, facility: facility)
        }
        var master = Master(program: program, settings: settings, sharedNames: sharedNames.collected)
        master.startup.status = status
        if let status, !settings.logToStandardError { master.log.startupEcho = status.fd }
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
    /// The master's view of the transaction table: it settles what a dead worker held.
    var transactionTable: TransactionTable?
    /// The readiness pipe and the daemon's status pipe (WorkerStartup, DaemonStart.swift).
    var startup = WorkerStartup()

    /// Depth bound of each async task group's queue: when it is full, a producer waits
    /// for room (or, in a nonblocking group, its push fails) instead of filling the arena.
    static let taskQueueDepth = 16_384
    /// Buckets of tm's transaction table (a power of two, fixed when the arena is laid
    /// out), so that bucket chains stay short with thousands of live transactions.
    static let transactionBuckets = 8192

    init(program: Program, settings: ServerSettings, sharedNames: [String]) {
        self.program = program
        self.settings = settings
        self.sharedNames = sharedNames
        self.log = ServerLog(threshold: settings.logLevel, toStandardError: settings.logToStandardError,
                             prefix: settings.logPrefix, format: settings.logFormat)
        // A log_prefix with variables is evaluated per message (the receivers set it);
        // lines outside a message carry none, as in Kamailio.
        if program.settings.formats["core.log_prefix"] != nil { log.messagePrefix = MessagePrefix() }
    }

    /// Whether the config loads tm (then the arena gets a transaction table and the master
    /// a `timer` process).
    var usesTM: Bool { program.settings.modules.contains("tm") }
    /// `USRLOC Timer` processes (none without usrloc).
    var usrlocTimers: Int { program.settings.modules.contains("usrloc") ? UsrlocSettings(program.settings).timerProcessCount : 0 }

    /// DNS Worker processes: `dns_workers`, when there is something for them to do (tm
    /// suspends the relays they resolve for, and they resolve into the shared cache).
    var dnsWorkers: Int { usesTM && settings.dns.cached ? settings.dns.workers : 0 }

    mutating func start() -> Int32 {
        // The sweep covers default names (/respite-<pid>) only: another --shm-name belongs
        // to whoever chose it (a test may keep a dead server's arena to inspect it), and
        // only the server that asks for that name again may take it back.
        Arena.removeStale { name in
            let pid = name.dropFirst("respite-".count)
            return !pid.isEmpty && pid.allSatisfy(\.isNumber)
        }
        let name = settings.shmName ?? Arena.defaultName(pid: getpid())
        guard reclaimArenaName(name) else { return 1 }
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

    /// Makes `name` free for a new arena: an arena left there by a creator that is gone
    /// (a SIGKILLed master) is removed; one whose creator runs, or may run, is left alone
    /// and the server does not start. Returns whether the name is free.
    func reclaimArenaName(_ name: String) -> Bool {
        switch Arena.reclaim(name: name) {
        case .absent:
            return true
        case .removed(let creator):
            log.notice("core", "removed the arena \(name) left behind by pid \(creator.pid), which is gone")
            return true
        case .inUse(let creator, .running):
            log.critical("core", "the arena \(name) is in use: its creator, pid \(creator.pid), is running; stop that server or choose another --shm-name")
        case .inUse(let creator, _):
            // Layout 1 records no start time: the pid may be that server's or a stranger's.
            log.critical("core", "the arena \(name) was created by pid \(creator.pid), which still exists (an older arena layout without the creator's start time, so it may be that server); stop it or remove \(name) by hand")
        case .notAnArena:
            log.critical("core", "\(name) exists but holds no complete Respite arena header (another program's object, or a server creating it now); not touching it")
        case .failed(let error):
            log.critical("core", "cannot check the existing arena \(name): \(error)")
        }
        return false
    }

    /// Everything after the arena exists: sections, sockets, workers, supervision.
    mutating func serve(_ arena: ArenaRef, name: String) -> Int32 {
        let sections: ArenaSections
        let tables: SharedTables
        var transactions: TransactionSections?
        var asyncShared: AsyncSharedState?
        let async = AsyncConfig(program.settings)
        let http = HTTPAsyncConfig(program.settings)
        var httpShared: HTTPShared?
        var tcpShared: TCPShared?
        let sockets: [LocalSocket]
        let rpcProcesses: [RPCProcessSpec]
        let listensOnTCP = settings.listen.contains { $0.transport == .tcp }
        let tcpChildren = listensOnTCP ? settings.tcp.children ?? settings.children : 0
        do {
            let receivers = settings.listen.filter { $0.transport == .udp }.count * settings.children
                + (listensOnTCP ? 1 + tcpChildren : 0)
            let asyncProcesses = async.groups.reduce(0) { $0 + $1.workers } + async.ringWorkers + 1
            let httpWorkers = http.moduleLoaded ? http.workers : 0
            let dnsWorkers = self.dnsWorkers
            let rpc = RPCConfig(program.settings, runDirectory: settings.runDirectory)
            rpcProcesses = try rpc.bindProcesses()
            var queues = async.groups.map {
                ArenaLayout.Queue(name: $0.name, maxDepth: Master.taskQueueDepth, workers: $0.workers,
                                  nonblocking: $0.nonblock, usleepMicroseconds: UInt32($0.usleep))
            }
            if http.moduleLoaded {
                queues.append(ArenaLayout.Queue(name: HTTPAsyncConfig.queueName, maxDepth: http.maxPending,
                                                workers: http.workers, nonblocking: true))
            }
            if dnsWorkers > 0 {
                queues.append(ArenaLayout.Queue(name: DNSDeferral.queueName, maxDepth: Master.taskQueueDepth,
                                                workers: dnsWorkers, nonblocking: true))
            }
            if listensOnTCP {
                queues.append(ArenaLayout.Queue(name: TCPShared.inboundQueue, maxDepth: Master.taskQueueDepth,
                                                workers: tcpChildren, nonblocking: true))
                queues.append(ArenaLayout.Queue(name: TCPShared.outboundQueue, maxDepth: 4 * Master.taskQueueDepth,
                                                workers: 1, nonblocking: true))
            }
            sections = try arena.install(ArenaLayout(processCapacity: 1 + receivers + asyncProcesses + usrlocTimers + httpWorkers + dnsWorkers + rpcProcesses.count + 16,
                                                     queues: queues))
            _ = try arena.installStatistics(ServerStatistics.definitions, processCapacity: sections.processes.capacity)
            let modparams = program.settings.modparams
            // The specs were checked when the config loaded; parsing cannot fail here.
            let shvset = (modparams["pv"]?["shvset"] ?? []).compactMap { try? ShvsetSpec.parse($0.text) }
            let htables = (modparams["htable"]?["htable"] ?? []).compactMap { try? HashTableSpec.parse($0.text) }
            let changeable = try arena.installChangeableSettings(RPCMethods.changeableSettings(logLevel: settings.logLevel))
            log.liveLevel = changeable.index(group: "core", name: "debug").map { LiveLogLevel(settings: changeable, index: $0) }
            tables = try arena.installTables(shv: sharedNames, shvset: shvset, htables: htables)
            if let problem = HTableDatabase.loadAtStart(program.settings, tables: tables.hashTables, log: log) {
                log.critical("core", "cannot start: \(problem)")
                return 1
            }
            if program.settings.modules.contains("usrloc") {
                let ul = UsrlocSettings.of(program.settings)
                let table = try arena.installLocationTable(hashSize: ul.bucketBits, capacity: ul.contactsMax,
                                                           useDomain: ul.useDomain, dbMode: ul.dbMode)
                if let problem = preloadLocations(ul, table) {
                    log.critical("usrloc", problem)
                    return 1
                }
            }
            if program.settings.modules.contains(AuthSettings.module) {
                _ = try AuthSettings(program.settings).installNonceCounts(in: arena)
            }
            if usesTM {
                var wheels = [TransactionWheel.tm.spec()]
                if async.moduleLoaded && async.mode == 0 {
                    wheels.append(TransactionWheel.secondRing.spec())
                    if async.msTimer > 0 { wheels.append(TransactionWheel.milliseconds.spec(tickMs: async.msTimer)) }
                }
                transactions = try arena.installTransactions(buckets: Master.transactionBuckets, wheels: wheels)
            }
            if async.moduleLoaded || !async.groups.isEmpty {
                asyncShared = try arena.installAsyncState(ringTickMs: TransactionWheel.secondRing.spec().tickMs,
                                                          msTickMs: async.msTimer)
            }
            if http.moduleLoaded {
                let table = try arena.installHTTPQueries(capacity: http.maxPending)
                guard let doorbell = EventDoorbell() else { throw SystemCallError("eventfd", errno: errno) }
                httpShared = HTTPShared(config: http, table: table, doorbell: doorbell)
                for param in http.ignored { log.warning("http_async_client", "modparam \(param) has no effect in Respite") }
            }
            if settings.dns.cacheInit {
                // Kamailio's dns_cache_init: the cache exists (and can be used) only when set.
                _ = try arena.installDNSCache(bytes: settings.dns.cacheKilobytes << 10,
                                              gcIntervalSeconds: settings.dns.gcIntervalSeconds,
                                              staleSeconds: DNSSettings.staleSeconds,
                                              deleteNonExpired: settings.dns.deleteNonExpired)
            }
            if listensOnTCP, let inbound = sections.queue(named: TCPShared.inboundQueue),
               let outbound = sections.queue(named: TCPShared.outboundQueue) {
                let table = try arena.installTCPConnections(capacity: settings.tcp.maxConnections)
                guard let doorbell = EventDoorbell() else { throw SystemCallError("eventfd", errno: errno) }
                tcpShared = TCPShared(table: table, inbound: inbound, outbound: outbound, doorbell: doorbell)
            }
            var bound: [LocalSocket] = []
            for (index, spec) in settings.listen.enumerated() {
                bound.append(try LocalSocket(index: index, spec: spec))
            }
            sockets = bound
        } catch {
            log.critical("core", "cannot start: \(error)")
            return 1
        }
        arena.setReady()
        let log = self.log.withoutStartupEcho
        transactionTable = transactions?.table(asyncState: asyncShared) { tx in
            log.warning("core", "transaction \(tx.id): its lock came back from a process that died holding it")
        }
        if let path = settings.pidFile, let problem = PidFile.write(path) {
            log.critical("core", "cannot write the pid file \(path): \(problem)")
            return 1
        }
        defer { if let path = settings.pidFile { PidFile.remove(path) } }
        guard dropPrivileges(arenaName: name) else { return 1 }

        if let slot = sections.processes.claim(role: .main, rank: 0, description: "main process - attendant") {
            sections.processes.started(slot: slot, pid: getpid())
        }
        for socket in sockets where socket.transport == .udp {
            for child in 0..<settings.children {
                let description = "udp receiver child=\(child) sock=\(socket.address)"
                guard let slot = sections.processes.claim(role: .udpReceiver, rank: child, description: description) else {
                    log.critical("core", "process table full")
                    return 1
                }
                workers.append(WorkerSlot(slot: slot, description: description, kind: .udpReceiver(socket)))
            }
        }
        if tcpShared != nil {
            guard let slot = sections.processes.claim(role: .tcpMain, rank: 0, description: "tcp main process") else { return 1 }
            workers.append(WorkerSlot(slot: slot, description: "tcp main process", kind: .tcpMain))
            for child in 0..<tcpChildren {
                let description = "tcp receiver (generic) child=\(child)"
                guard let slot = sections.processes.claim(role: .tcpReceiver, rank: child, description: description) else { return 1 }
                workers.append(WorkerSlot(slot: slot, description: description, kind: .tcpReceiver))
            }
        }
        if usesTM {
            guard let slot = sections.processes.claim(role: .tmTimer, rank: 0, description: "timer") else { return 1 }
            workers.append(WorkerSlot(slot: slot, description: "timer", kind: .tmTimer))
        }
        guard claimAsyncProcesses(async, sections, hasTransactions: transactions != nil) else { return 1 }
        if program.settings.modules.contains("usrloc") {
            let count = UsrlocSettings(program.settings).timerProcessCount
            for rank in 0..<count {
                guard let slot = sections.processes.claim(role: .helper, rank: rank, description: "USRLOC Timer") else {
                    log.critical("core", "process table full")
                    return 1
                }
                workers.append(WorkerSlot(slot: slot, description: "USRLOC Timer", kind: .usrlocTimer(rank: rank, of: count)))
            }
        }
        for rank in 0..<(httpShared == nil ? 0 : http.workers) {
            guard let slot = sections.processes.claim(role: .httpWorker, rank: rank, description: "Http Worker") else {
                log.critical("core", "process table full")
                return 1
            }
            workers.append(WorkerSlot(slot: slot, description: "Http Worker", kind: .httpWorker))
        }
        for (rank, spec) in rpcProcesses.enumerated() {
            guard let slot = sections.processes.claim(role: .rpc, rank: rank, description: spec.description) else {
                log.critical("core", "process table full")
                return 1
            }
            workers.append(WorkerSlot(slot: slot, description: spec.description, kind: .rpc(spec)))
        }
        defer { for file in Set(rpcProcesses.flatMap { $0.endpoints.compactMap(\.file) }) { unlink(file) } }
        for rank in 0..<dnsWorkers {
            guard let slot = sections.processes.claim(role: .dnsWorker, rank: rank, description: "DNS Worker") else {
                log.critical("core", "process table full")
                return 1
            }
            workers.append(WorkerSlot(slot: slot, description: "DNS Worker", kind: .dnsWorker))
        }
        log.notice("core", "respite \(ServerSettings.version) starting: arena \(name) (\(settings.sharedMemoryBytes >> 20) MB), listening on \(sockets.map(\.name).joined(separator: ", ")), \(workers.count) worker processes")

        Signals.blockInMaster()
        var context = WorkerContext(program: program, settings: settings, arena: arena, sections: sections, tables: tables,
                                    transactions: transactions, asyncShared: asyncShared, http: httpShared,
                                    tcp: tcpShared, sockets: sockets, log: log)
        if let problem = startup.open() {
            self.log.critical("core", "cannot start: \(problem)")
            return 1
        }
        context.startup = startup
        for i in workers.indices {
            if !spawn(i, context) { return shutdown(context, status: 1) }
        }
        guard awaitWorkersStarted(context) else { return shutdown(context, status: 1) }
        return supervise(context)
    }
}

extension Master {
    /// The async processes, named as Kamailio's `core.psx` names them: each group's
    /// workers, the second ring's timers, the millisecond timer.
    mutating func claimAsyncProcesses(_ async: AsyncConfig, _ sections: ArenaSections, hasTransactions: Bool) -> Bool {
        var wanted: [(ProcessRole, Int, String, WorkerSlot.Kind)] = []
        for group in async.groups {
            for rank in 0..<group.workers {
                wanted.append((.asyncWorker, rank, "Async Task Worker - \(group.name)", .asyncWorker(group)))
            }
        }
        if async.moduleLoaded && async.mode == 0 && hasTransactions {
            for rank in 0..<async.ringWorkers {
                wanted.append((.asyncTimer, rank, "ASYNC MOD TIMER", .asyncRingTimer))
            }
            if async.msTimer > 0 && async.hasDefaultGroup {
                wanted.append((.asyncMsTimer, 0, "ASYNC MOD MS TIMER", .asyncMsTimer))
            }
        }
        for (role, rank, description, kind) in wanted {
            guard let slot = sections.processes.claim(role: role, rank: rank, description: description) else {
                log.critical("core", "process table full")
                return false
            }
            workers.append(WorkerSlot(slot: slot, description: description, kind: kind))
        }
        return true
    }
}
