import Script
import Shared

/// A `DNS Worker`: takes the names receivers could not resolve from the DNS cache off the
/// "dns" queue (sleeping on the queue's futex doorbell while it is empty), resolves each
/// one, which fills the cache, and then resumes the suspended transaction itself, at the
/// action that called `t_relay`: the relay runs again here, finds the cache warm, and the
/// script's error branch runs here if the name did not resolve (docs/dns.md).
///
/// It may wait for name servers (up to `dns_retr_time` x `dns_retr_no` per name) and for
/// another process resolving the same name: that is its job, so that receivers never do.
struct DNSWorker {
    let process: ProcessContext
    let queue: TaskQueueRef
    var exec: ExecContext

    init(process: ProcessContext, queue: TaskQueueRef) {
        self.process = process
        self.queue = queue
        exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        process.dns.mode = .waitForOthers
        while true {
            switch queue.take(arena: process.arena, timeoutNanoseconds: -1) {
            case .nothing: continue
            case .malformed(let kind): process.log.error("dns", "unknown task kind \(kind) in the dns queue (dropped)")
            case .task(.dns(let payload)):
                guard let request = DNSRequest(decoding: payload) else {
                    process.log.error("dns", "a malformed request in the dns queue (dropped)")
                    continue
                }
                handle(request)
            case .task:
                process.log.error("dns", "a task that is not a DNS request in the dns queue (dropped)")
            }
        }
    }

    /// Resolves the query, then resumes its transaction (at the action stored with it). The
    /// transaction is held (referenced) meanwhile: if this process dies while resolving,
    /// the master answers it 500 (`settleHolds(ofSlot:resumer:)`) instead of leaving it
    /// to its fr_timer.
    mutating func handle(_ request: DNSRequest) {
        let q = request.query
        guard let found = process.tm?.table.lookup(request.transaction) else {
            process.count(.tasksFailed)
            process.log.notice("dns", "transaction \(request.transaction) is gone; \(q) is not resolved for it")
            return
        }
        let started = MonotonicClock.nowMs
        let targets = process.dns.targets(host: q.host, port: q.port, transport: q.transport, secure: q.secure)
        process.log.debug("dns", "\(q): \(targets.count) targets in \(MonotonicClock.nowMs - started) ms; resuming transaction \(request.transaction)")
        if !process.resume(found.transaction, &exec) {
            process.log.notice("dns", "transaction \(request.transaction) was answered, cancelled or timed out while \(q) was resolved")
        }
        exec.flags = 0
    }
}
