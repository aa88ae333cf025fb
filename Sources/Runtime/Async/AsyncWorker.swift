import CShared
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
    let async: AsyncState
    let queue: TaskQueueRef
    let group: AsyncGroup
    var exec: ExecContext
    /// Numbers this worker's faked requests, so no two share a Call-ID or branch.
    var serial: UInt64 = 0

    init(process: ProcessContext, async: AsyncState, queue: TaskQueueRef, group: AsyncGroup) {
        self.process = process
        self.async = async
        self.queue = queue
        self.group = group
        self.exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        while true {
            if group.usleep > 0 { usleep(UInt32(clamping: group.usleep)) }
            guard let task = queue.take(timeoutNanoseconds: 1_000_000_000) else { continue }
            handle(task)
            async.arena.freeTask(task)
            exec.flags = 0
            exec.host = nil
        }
    }

    mutating func handle(_ task: UnsafeMutablePointer<cs_task>) {
        switch AsyncTaskKind(rawValue: task.pointee.kind) {
        case .resume?:
            guard let tm = process.tm,
                  let raw = cs_tx_lookup_id(tm.arena.header, tm.table.raw, UInt32(truncatingIfNeeded: task.pointee.words.0),
                                            UInt32(truncatingIfNeeded: task.pointee.words.1)) else {
                async.count(.resumeMissed)
                return
            }
            let tx = Tx(raw: raw)
            async.count(process.resume(tx, &exec) ? .resumed : .resumeMissed)
            tm.unref(tx)
        case .data?:
            let data = takeBlock(task)
            guard let context = FakedRequest.context(process, serial: &serial) else { return }
            context.asyncData = String(decoding: data, as: UTF8.self)
            _ = context.run(route: Int(task.pointee.words.0), as: .request, &exec)
            context.releaseUnfinishedTransaction()
            context.releaseTransactions()
            process.count(CS_PC_TASKS)
        case .tkv?:
            let block = takeBlock(task)
            guard block.count >= 4, let context = FakedRequest.context(process, serial: &serial),
                  let route = process.program.routeIndex(async.config.tkvRoute, in: .event) else { return }
            let keyLength = Int(UInt32(littleEndian: block.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
            guard 4 + keyLength <= block.count else { return }
            context.tkv = (Int(Int64(bitPattern: task.pointee.words.0)),
                           String(decoding: block[4..<(4 + keyLength)], as: UTF8.self),
                           String(decoding: block[(4 + keyLength)...], as: UTF8.self))
            _ = context.run(route: route, as: .event, &exec)
            context.releaseUnfinishedTransaction()
            context.releaseTransactions()
            process.count(CS_PC_TASKS)
        case nil:
            process.log.error("async", "unknown task kind \(task.pointee.kind)")
        }
    }

    /// The task's payload block, copied out and freed.
    func takeBlock(_ task: UnsafeMutablePointer<cs_task>) -> [UInt8] {
        let offset = Int(task.pointee.words.1), length = Int(task.pointee.words.2)
        guard offset > 0, offset + length <= async.arena.size else { return [] }
        let pointer = async.arena.base + offset
        let bytes = Array(UnsafeRawBufferPointer(start: pointer, count: length))
        async.arena.free(pointer)
        return bytes
    }
}

/// The request data and tkv routes run on: a local OPTIONS (SEMANTICS.md 7 leaves the
/// text to Respite), from 127.0.0.1; its Call-ID and branch carry the worker's pid and a
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
        return MessageContext(process: process, message: message, source: SocketAddress(ip: 0x7F00_0001, port: 5060),
                              socket: process.defaultSocket)
    }
}
