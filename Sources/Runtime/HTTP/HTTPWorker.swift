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

    init?(process: ProcessContext, client: HTTPAsyncClient) {
        CurlGlobal.initialize()
        guard let multi = rc_multi_new(client.doorbell.fd) else { return nil }
        self.process = process
        self.client = client
        self.multi = multi
        exec = process.makeExecContext()
    }

    mutating func run() -> Never {
        var rang = true
        while true {
            // Drained before the queue is read: a query queued after the read rings again.
            if rang { client.doorbell.drain() }
            takeQueries()
            finishDone()
            // At most a second asleep: the loop also notices the master's death that way.
            rang = rc_multi_wait(multi, 1000) != 0
            finishDone()
        }
    }

    /// Starts every queued query this worker has room for.
    mutating func takeQueries() {
        while running.count < client.config.maxTransfersPerWorker {
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
            spare.append(transfer)
            finish(query, HTTPResponse(error: failure))
            return
        }
        // (After configure: its reset clears every option.)
        if client.config.verbose { _ = rc_easy_long(transfer.handle, CURLOPT_VERBOSE, 1) }
        client.table.count(.requests)
        running[transfer.handle] = (query, transfer)
        _ = rc_multi_add(multi, transfer.handle)
    }

    /// Collects the exchanges curl has finished and runs their routes.
    mutating func finishDone() {
        var code = CURLE_OK
        while let handle = rc_multi_next_done(multi, &code) {
            guard let (query, transfer) = running.removeValue(forKey: handle) else { continue }
            let response = transfer.response(code)
            _ = rc_multi_remove(multi, handle)
            spare.append(transfer)
            finish(query, response)
        }
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
