import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// What the master hands every worker it forks: read-only after fork.
struct WorkerContext {
    let program: Program
    let settings: ServerSettings
    let arena: ArenaRef
    let sections: ArenaSections
    let tables: SharedTables
    /// tm's table and wheel, when the config loads tm.
    let transactions: TransactionSections?
    /// The async module's shared state, when the config uses it.
    let asyncShared: AsyncSharedState?
    /// http_async_client's table and doorbell, when the config loads it.
    let http: HTTPShared?
    /// The TCP transport's table, queues and doorbell, when the server listens on TCP.
    let tcp: TCPShared?
    let sockets: [LocalSocket]
    let log: ServerLog
    /// The master's pid, taken when the master builds this context (before any fork): a
    /// child compares its parent with it to notice a master that died before the child
    /// asked for the parent-death signal.
    let masterPID: pid_t = getpid()
    /// The readiness pipe each worker reports on once it is set up.
    var startup = WorkerStartup()
}

/// One worker process the master keeps running.
struct WorkerSlot {
    enum Kind {
        case udpReceiver(LocalSocket)
        /// `tcp main process`.
        case tcpMain
        /// `tcp receiver (generic) child=N`.
        case tcpReceiver
        /// tm's `timer` process.
        case tmTimer
        /// `Async Task Worker - <group>`.
        case asyncWorker(AsyncGroup)
        /// `ASYNC MOD TIMER`: the second ring.
        case asyncRingTimer
        /// `ASYNC MOD MS TIMER`.
        case asyncMsTimer
        /// `Http Worker` (http_async_client).
        case httpWorker
        /// `DNS Worker`: resolves for the receivers (dns_workers).
        case dnsWorker
        /// `ctl handler`, `JSONRPCS FIFO`, `JSONRPCS DATAGRAM`: management RPCs.
        case rpc(RPCProcessSpec)
        /// `USRLOC Timer`: removes expired contacts from its share of the location table.
        case usrlocTimer(rank: Int, of: Int)
    }

    let slot: Int32
    let description: String
    let kind: Kind
    var pid: pid_t = 0
    /// Start times of recent restarts, to stop a crash loop.
    var recentStarts: [UInt64] = []
}

extension WorkerSlot {
    /// The body of the forked child: set up the process, then serve forever.
    func runChild(_ context: WorkerContext) -> Never {
        // A worker never outlives its master: the kernel sends SIGTERM (default action:
        // exit) when the master dies. A master that died before the prctl sends nothing,
        // and this process already has a new parent: check, and leave.
        ProcessSetup.dieWithParent(signal: SIGTERM)
        if getppid() != context.masterPID {
            context.log.notice("core", "the master (pid \(context.masterPID)) is gone; \(description) exits")
            _exit(1)
        }
        Signals.resetInChild()
        context.sections.processes.started(slot: slot, pid: getpid())
        context.arena.attachAllocatorCache(slot: slot)
        var log = context.log
        log.slot = slot
        let process = ProcessContext(program: context.program, settings: context.settings, arena: context.arena,
                                     sections: context.sections, tables: context.tables, slot: slot, log: log,
                                     sockets: context.sockets)
        if let t = context.transactions {
            let log = process.log
            let table = t.table(asyncState: context.asyncShared, slot: slot) { tx in
                // A holder killed mid-change left single-field stores and whole buffers
                // (TransactionTable.init says why): the state is consistent, so go on.
                log.warning("tm", "transaction \(tx.id): its lock came back from a process that died holding it; continuing with the state it left")
            }
            process.tm = TransactionManager(settings: TMSettings(context.program.settings), table: table)
        }
        if let shared = context.asyncShared {
            process.async = AsyncMachinery(config: AsyncConfig(context.program.settings), arena: context.arena,
                                           shared: shared, queues: context.sections.queues)
        }
        if let http = context.http, let queue = context.sections.queue(named: HTTPAsyncConfig.queueName) {
            process.httpAsync = HTTPAsyncClient(config: http.config, table: http.table, queue: queue,
                                                doorbell: http.doorbell, arena: context.arena)
        }
        if let tcp = context.tcp {
            process.tcp = TCPSender(table: tcp.table, queue: tcp.outbound, doorbell: tcp.doorbell, arena: context.arena)
        }
        let dnsQueue = context.sections.queue(named: DNSDeferral.queueName)
        switch kind {
        case .udpReceiver, .tcpReceiver:
            process.dnsDeferral = dnsQueue.map { DNSDeferral(queue: $0, arena: context.arena) }
        default:
            break
        }
        context.startup.workerStarted()
        switch kind {
        case .udpReceiver(let socket):
            var receiver = Receiver(process: process)
            receiver.run(udp: socket)
        case .tcpReceiver:
            var receiver = Receiver(process: process)
            receiver.run(tcp: context.tcp!.inbound)
        case .tcpMain:
            let tcp = context.tcp!
            guard var main = TCPMain(process: process, settings: context.settings.tcp, table: tcp.table,
                                     inbound: tcp.inbound, outbound: tcp.outbound, doorbell: tcp.doorbell) else {
                process.log.critical("tcp", "tcp main: no epoll descriptor")
                _exit(1)
            }
            main.run()
        case .tmTimer:
            var timer = TMTimerProcess(process: process, manager: process.tm!)
            timer.run()
        case .asyncWorker(let group):
            let async = process.async!
            async.workerGroup = group.name
            var worker = AsyncWorker(process: process, async: async, queue: async.queues[group.name]!, group: group)
            worker.run()
        case .asyncRingTimer:
            var timer = AsyncRingTimer(process: process, async: process.async!, table: process.tm!.table)
            timer.run()
        case .asyncMsTimer:
            let async = process.async!
            let timer = AsyncMsTimer(process: process, async: async, table: process.tm!.table,
                                     queue: async.queues[AsyncConfig.defaultGroup]!)
            timer.run()
        case .httpWorker:
            guard let client = process.httpAsync, var worker = HTTPWorker(process: process, client: client) else {
                process.log.critical("http_async_client", "Http Worker: curl cannot start (no memory)")
                _exit(1)
            }
            worker.run()
        case .dnsWorker:
            var worker = DNSWorker(process: process, queue: dnsQueue!)
            worker.run()
        case .rpc(let spec):
            spec.run(process)
        case .usrlocTimer(let rank, let count):
            guard let table = context.arena.locationTable else {
                process.log.critical("usrloc", "USRLOC Timer: no location table in the arena")
                _exit(1)
            }
            let settings = UsrlocSettings.of(context.program.settings)
            let writeBack = UsrlocWriteBack(settings: settings, table: table,
                                            connection: settings.dbURL.flatMap { process.databases.connection($0) },
                                            log: process.log)
            UsrlocTimerProcess(process: process, table: table, interval: settings.timerInterval, rank: rank,
                               processes: count, writeBack: writeBack).run()
        }
    }
}

/// What the master makes for the TCP transport before it forks.
struct TCPShared {
    let table: TCPConnectionTable
    /// "tcp:in": framed messages for the tcp receivers.
    let inbound: TaskQueueRef
    /// "tcp:out": bytes and requests for the tcp main.
    let outbound: TaskQueueRef
    /// Rings the tcp main when something is queued in `outbound`.
    let doorbell: EventDoorbell

    static let inboundQueue = "tcp:in"
    static let outboundQueue = "tcp:out"
}

/// What the master makes for http_async_client before it forks.
struct HTTPShared {
    let config: HTTPAsyncConfig
    let table: HTTPQueryTable
    let doorbell: EventDoorbell
}
