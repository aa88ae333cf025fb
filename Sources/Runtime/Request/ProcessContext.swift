import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// What one server process owns after fork: the program, its sockets, the arena views, its
/// log and reusable buffers. Created in the child (never shared between processes); every
/// function body reaches it through the message context.
public final class ProcessContext {
    public let program: Program
    public let settings: ServerSettings
    public let arena: ArenaRef
    public let sections: ArenaSections
    /// `$shv` and `$sht` storage (nil only in processes that never run a script).
    public let tables: SharedTables?
    /// tm's table and timers (nil when the config does not load tm).
    var tm: TransactionManager?
    /// The async module's queues and counters (nil when the config does not load async or
    /// define task groups).
    var async: AsyncMachinery?
    /// http_async_client's table, queue and `$http_req` settings (nil when not loaded).
    var httpAsync: HTTPAsyncClient?
    /// http_client's curl handles and last results (made on first use).
    var httpClient: HTTPClientProcess?
    /// Next-hop resolution (RFC 3263) over the arena's DNS cache (made on first use).
    public lazy var dns: DNSResolver = DNSResolver(
        settings: settings.dns, cache: arena.dnsCache, pid: getpid(), families: Set(sockets.map(\.address.family)))
    /// This process's slot in the process table.
    public let slot: Int32
    public var log: ServerLog
    public let sockets: [ListenSocket]
    /// Reused for every reply and forwarded request this process builds.
    public var outBuffer = MessageBuffer(capacity: 4096)
    /// Mixed into generated To tags so that they cannot be guessed (same in every process
    /// of one server, so a retransmission answered elsewhere gets the same tag).
    public var tagSeed: UInt64 { settings.tagSeed }

    public init(program: Program, settings: ServerSettings, arena: ArenaRef, sections: ArenaSections,
                tables: SharedTables?, slot: Int32, log: ServerLog, sockets: [ListenSocket]) {
        self.tables = tables
        self.program = program
        self.settings = settings
        self.arena = arena
        self.sections = sections
        self.slot = slot
        self.log = log
        self.sockets = sockets
    }

    /// A script context for this process, its script log lines going to this process's log.
    public func makeExecContext() -> ExecContext {
        var exec = program.makeContext()
        let log = self.log
        exec.log = { level, text in log.write(LogLevel(scriptLevel: level), "<script>", text) }
        return exec
    }

    @inline(__always)
    public func count(_ counter: ProcessCounter, _ delta: UInt64 = 1) {
        sections.processes.add(slot: slot, counter, delta)
    }

    /// The socket to send from towards `destination`: the first listen socket (one
    /// address family, loopback or not, is all Respite supports for now).
    public var defaultSocket: ListenSocket { sockets[0] }

    /// Whether `host:port` names one of our listen sockets (for Via and Route checks).
    public func isLocal(host: String, port: Int?) -> Bool {
        let p = port ?? 5060
        return sockets.contains { $0.address.port == p && ($0.address.host == host || host == "localhost" && $0.address.isLoopback) }
    }
}
