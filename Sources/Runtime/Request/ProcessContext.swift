import Database
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
    /// The DNS Workers' queue, in a receiver when there are DNS Workers: its t_relay hands a
    /// name the DNS cache cannot answer now to them instead of resolving it (docs/dns.md).
    var dnsDeferral: DNSDeferral?
    /// The RPC methods (the core's and the loaded modules'), for `jsonrpc_dispatch` and the
    /// management processes (made on first use).
    public lazy var rpcMethods: RPCMethodTable = RPCMethods.table(for: program.settings)
    /// This process's database connections, one per URL, each opened on first use.
    public lazy var databases = DatabasePool(settings: DatabaseSettings(program.settings), log: log)
    /// sqlops' results and counts in this process (made on first use).
    lazy var sqlops = SQLOpsProcess(settings: program.settings.derived["sqlops"] as? SQLOpsSettings ?? SQLOpsSettings(program.settings))
    /// acc's settings when the config loads it.
    lazy var acc: AccSettings? = AccSettings(program.settings)
    /// registrar's per-process state: reg_fetch_contacts() profiles, the ruid counter.
    var registrar = RegistrarProcessState()
    /// registrar's parameters, read once per process (not a copy of every setting per call).
    lazy var registrarSettings = RegistrarSettings.of(program.settings)
    /// This process's slot in the process table.
    public let slot: Int32
    /// Kamailio's statistics, counted in this process's row of section "stats".
    public let stats: ProcessStatistics
    public var log: ServerLog
    /// Every listen socket, in the listen order (a transaction's `socket_index`).
    public let sockets: [LocalSocket]
    /// The `alias=` names, for `myself` (`isMyself(host:port:)`).
    public lazy var localNames = LocalNames(settings: program.settings)
    /// The way to the tcp main (nil when TCP is disabled).
    var tcp: TCPSender?
    /// Reused for every reply and forwarded request this process builds.
    public var outBuffer = MessageBuffer(capacity: 4096)
    /// Mixed into generated To tags so that they cannot be guessed (same in every process
    /// of one server, so a retransmission answered elsewhere gets the same tag).
    public var tagSeed: UInt64 { settings.tagSeed }

    public init(program: Program, settings: ServerSettings, arena: ArenaRef, sections: ArenaSections,
                tables: SharedTables?, slot: Int32, log: ServerLog, sockets: [LocalSocket]) {
        self.tables = tables
        self.program = program
        self.settings = settings
        self.arena = arena
        self.sections = sections
        self.slot = slot
        self.stats = ProcessStatistics(arena: arena, slot: slot)
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

    /// The socket a message over `transport` to an address of `family` leaves from: the
    /// preferred one (the socket the request came on) when it matches, else the first of
    /// that transport and family in the listen order (Kamailio's choice without mhomed).
    public func outputSocket(_ transport: SIPTransport, family: SocketAddress.Family, preferring index: Int? = nil) -> LocalSocket? {
        if let index, index < sockets.count, sockets[index].transport == transport, sockets[index].address.family == family {
            return sockets[index]
        }
        return sockets.first { $0.transport == transport && $0.address.family == family }
    }

    /// Sends one SIP message to `peer`: over UDP from the peer's socket (or one of the
    /// right family), over TCP through the tcp main. False, logged, when it cannot go:
    /// no socket of that transport and family, a closed connection, a full queue.
    @discardableResult
    public func send(_ bytes: [UInt8], to peer: SIPPeer) -> Bool {
        switch peer.transport {
        case .udp:
            guard let out = outputSocket(.udp, family: peer.address.family, preferring: peer.socketIndex)?.udp else {
                log.error("core", "no UDP socket for \(peer.address) (listen on that address family)")
                return false
            }
            return out.send(bytes, to: peer.address)
        case .tcp:
            guard let tcp else {
                log.error("core", "cannot send to \(peer): TCP is disabled")
                return false
            }
            return tcp.send(bytes, to: peer, log: log)
        case .tls:
            log.error("core", "cannot send to \(peer): TLS is not supported")
            return false
        }
    }

    /// Whether `host:port` names this server as Kamailio's `myself` does: a listen socket or
    /// an `alias=`; a nil port matches any port. (For `uri == myself`, Route and R-URI checks.)
    public func isMyself(host: String, port: Int?) -> Bool {
        localNames.isMyself(host: host, port: port, sockets: sockets)
    }

    /// Whether `host:port` names one of our listen sockets (for Via and Route checks).
    public func isLocal(host: String, port: Int?) -> Bool {
        let p = port ?? 5060
        return sockets.contains { $0.isNamed(host: host, port: p) }
    }
}
