import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// An `Async Task Worker - <group>`: takes the group's tasks one at a time, in order, and
/// runs them (a resumed transaction, a data route, a tkv event). Nothing of one task's
/// message state is left for the next: each gets a fresh message context and flags.
struct AsyncWorker {
    let process: ProcessContext
    let async: AsyncMachinery
    let queue: TaskQueueRef
    let group: AsyncGroup
    var exec: ExecContext
    /// Numbers this worker's faked requests, so no two share a Call-ID or branch.
    var serial: UInt64 = 0

    init(process: ProcessContext, async: AsyncMachinery, queue: TaskQueueRef, group: AsyncGroup) {
        self.process = process
        self.async = async
        self.queue = queue
        self.group = group
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        while true {
            if group.usleep > 0 { usleep(UInt32(clamping: group.usleep)) }
            switch queue.take(arena: async.arena, timeoutNanoseconds: 1_000_000_000) {
            case .nothing: continue
            case .malformed(let kind): process.log.error("async", "unknown task kind \(kind)")
            case .task(let task): handle(task)
            }
            exec.flags = 0
            exec.host = nil
        }
    }

    mutating func handle(_ task: AsyncTask) {
        switch task {
        case .resume(let id):
            guard let found = process.tm?.table.lookup(id) else {
                async.count(.resumeMissed)
                return
            }
            async.count(process.resume(found.transaction, &exec) ? .resumed : .resumeMissed)
        case .data(let route, let data):
            guard let context = FakedRequest.context(process, serial: &serial) else { return }
            context.async.data = String(decoding: data, as: UTF8.self)
            runFaked(context, route: route, as: .request)
        case .sql(let payload):
            SQLOpsModule.runQueued(payload, process)
            process.count(.tasks)
        case .http, .tcp, .dns:
            process.log.error("async", "a transport's task in a task group's queue (only its own processes take those)")
        case .tkv(let type, let key, let value):
            guard let context = FakedRequest.context(process, serial: &serial),
                  let route = process.program.routeIndex(async.config.tkvRoute, in: .event) else { return }
            context.async.tkv = (type, key, value)
            runFaked(context, route: route, as: .event)
        }
    }

    /// Runs a data or tkv route on its faked request, then lets go of what it made.
    mutating func runFaked(_ context: MessageContext, route: Int, as type: RouteType) {
        _ = context.run(route: route, as: type, &exec)
        context.releaseUnfinishedTransaction()
        context.releaseTransactions()
        process.count(.tasks)
    }
}

/// The request data and tkv routes run on: a local OPTIONS of Respite's own
/// (docs/async.md#data-tasks), from 127.0.0.1; its Call-ID and branch carry the worker's pid and a
/// serial number, so that a route calling tm on it gets a transaction of its own.
enum FakedRequest {
    static func text(_ id: String) -> String {
        "OPTIONS sip:respite@127.0.0.1 SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-respite-faked-\(id)\r\n"
            + "From: <sip:respite@127.0.0.1>;tag=respite-faked\r\n"
            + "To: <sip:respite@127.0.0.1>\r\n"
            + "Call-ID: respite-faked-\(id)@127.0.0.1\r\n"
            + "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    }

    static func context(_ process: ProcessContext, serial: inout UInt64) -> MessageContext? {
        serial += 1
        guard let message = try? SIPMessage.parse(Array(text("\(getpid())-\(serial)").utf8)) else { return nil }
        return MessageContext(process: process, message: message,
                              peer: SIPPeer(transport: .udp, address: SocketAddress(ipv4: 0x7F00_0001, port: 5060), socketIndex: 0))
    }
}
