import CCurl
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// An `Http Worker`: takes http_async_client's queries from their queue and runs them all
/// at once on curl's multi interface, driven by epoll (rc_multi.h): it sleeps until a
/// socket is ready, curl's timer is due or the doorbell a new query rings. When an exchange ends, with an answer, an error or its
/// timeout, the worker runs the query's route itself: it resumes the suspended
/// transaction, or, for a query that suspended nothing, runs the route on a faked request.
struct HTTPWorker {
    let process: ProcessContext
    let client: HTTPAsyncClient
    let multi: OpaquePointer
    var exec: ExecContext
    /// The exchanges in flight, by their curl easy handle.
    var running: [UnsafeMutableRawPointer: (query: HTTPAsyncQuery, transfer: CurlTransfer)] = [:]
    /// Finished transfers kept for the next queries (curl's multi handle keeps the
    /// connections; the easy handles are only reused to save their set-up).
    var spare: [CurlTransfer] = []
    var serial: UInt64 = 0
    /// Transfers in flight at once (the config's, bounded by the descriptor limit).
    var maxTransfers = 1024
    /// Finished transfers kept for reuse at most.
    static let maxSpare = 64

    init?(process: ProcessContext, client: HTTPAsyncClient) {
        CurlGlobal.initialize()
        guard let multi = rc_multi_new(client.doorbell.fd) else { return nil }
        self.process = process
        self.client = client
        self.multi = multi
        exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        maxTransfers = Self.raiseDescriptorLimit(wanted: client.config.maxTransfersPerWorker)
        var rang = true
        while true {
            // Drained before the queue is read: a query queued after the read rings again.
            // A worker at capacity leaves the doorbell to the others (and to itself later).
            let hasRoom = running.count < maxTransfers
            rc_multi_watch_doorbell(multi, hasRoom ? 1 : 0)
            if rang && hasRoom { client.doorbell.drain() }
            takeQueries()
            finishDone()
            // At most a second asleep (the master's death ends this process by PDEATHSIG).
            rang = rc_multi_wait(multi, 1000) != 0
            finishDone()
        }
    }

    /// Transfers in flight at once: each holds a socket, and curl keeps idle connections
    /// too, so the soft descriptor limit goes up to the hard one and bounds the transfers.
    static func raiseDescriptorLimit(wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return min(wanted, 256) }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        // Half for transfers, the rest for connections curl keeps and the process's own.
        let usable = Int(clamping: limit.rlim_cur) / 2 - 32
        return max(16, min(wanted, usable))
    }

    /// Starts every queued query this worker has room for.
    mutating func takeQueries() {
        while running.count < maxTransfers {
            switch client.queue.tryTake(arena: client.arena) {
            case .nothing: return
            case .malformed(let kind): process.log.error("http_async_client", "unknown task kind \(kind) in the http queue")
            case .task(.http(let payload)):
                guard let query = HTTPAsyncQuery(decoding: payload) else {
                    process.log.error("http_async_client", "a malformed query in the http queue (dropped)")
                    continue
                }
                start(query)
            case .task:
                process.log.error("http_async_client", "a task that is not a query in the http queue (dropped)")
            }
        }
    }

    mutating func start(_ query: HTTPAsyncQuery) {
        guard client.table.start(query.claim, workerSlot: process.slot) else { return }
        guard let transfer = spare.popLast() ?? CurlTransfer() else {
            finish(query, HTTPResponse(error: HTTPFailure(kind: .other, curlCode: 0, message: "curl has no memory for a handle")))
            return
        }
        if let failure = transfer.configure(query.request) {
            recycle(transfer)
            finish(query, HTTPResponse(error: failure))
            return
        }
        // (After configure: its reset clears every option.)
        if client.config.verbose { _ = rc_easy_long(transfer.handle, CURLOPT_VERBOSE, 1) }
        client.table.count(.requests)
        guard rc_multi_add(multi, transfer.handle) == CURLM_OK else {
            recycle(transfer)
            finish(query, HTTPResponse(error: HTTPFailure(kind: .other, curlCode: 0, message: "curl refused the transfer")))
            return
        }
        running[transfer.handle] = (query, transfer)
    }

    /// Collects the exchanges curl has finished and runs their routes.
    mutating func finishDone() {
        var code = CURLE_OK
        while let handle = rc_multi_next_done(multi, &code) {
            guard let (query, transfer) = running.removeValue(forKey: handle) else { continue }
            let response = transfer.response(code)
            _ = rc_multi_remove(multi, handle)
            recycle(transfer)
            finish(query, response)
        }
    }

    /// Keeps a finished transfer for the next query (its large buffers given back), up to
    /// `maxSpare`.
    mutating func recycle(_ transfer: CurlTransfer) {
        guard spare.count < Self.maxSpare else { return }
        transfer.trimBuffers()
        spare.append(transfer)
    }

    /// Counts the outcome, runs the route, frees the query's entry.
    mutating func finish(_ query: HTTPAsyncQuery, _ response: HTTPResponse) {
        defer { client.table.release(query.claim) }
        switch response.error?.kind {
        case nil: client.table.count(.replies)
        case .timedOut?: client.table.count(.timeouts)
        default: client.table.count(.errors)
        }
        if let failure = response.error {
            process.log.info("http_async_client", "query \(query.claim.id) to \(query.request.url) failed: \(failure.message)")
        }
        let result = HTTPAsyncResult(queryID: query.claim.id, response: response)
        guard let id = query.transaction else {
            runWithoutTransaction(query, result)
            return
        }
        guard let found = process.tm?.table.lookup(id) else {
            client.table.count(.orphaned)
            process.log.notice("http_async_client", "query \(query.claim.id): the answer came after transaction \(id) was gone; nothing to resume")
            return
        }
        let resumed = process.resume(found.transaction, target: .route(query.route), &exec) { context in
            context.async.http = result
        }
        if !resumed {
            client.table.count(.orphaned)
            process.log.notice("http_async_client", "query \(query.claim.id): transaction \(id) was answered, cancelled or timed out meanwhile; the answer is dropped")
        }
        exec.flags = 0
    }

    /// `$http_req(suspend) = 0` or no transaction: the route runs on a faked request.
    mutating func runWithoutTransaction(_ query: HTTPAsyncQuery, _ result: HTTPAsyncResult) {
        guard let context = FakedRequest.context(process, serial: &serial) else { return }
        context.async.http = result
        _ = context.run(route: query.route, as: .request, &exec)
        context.releaseUnfinishedTransaction()
        context.releaseTransactions()
        process.count(.tasks)
        exec.flags = 0
        exec.host = nil
    }
}
