import Script
import Shared

/// http_async_client in one process: the shared table and queue, the doorbell, and the
/// script's `$http_req(...)` settings for this process's next query.
final class HTTPAsyncClient {
    let config: HTTPAsyncConfig
    let table: HTTPQueryTable
    let queue: TaskQueueRef
    let doorbell: EventDoorbell
    let arena: ArenaRef
    /// `$http_req(...)`: what the next query sends; back to the defaults after each query.
    var next: HTTPRequest
    /// `$http_req(suspend)`.
    var suspendNext = true
    /// `$http_req_id` after http_async_query() in this process.
    var lastQueryID: UInt64?

    init(config: HTTPAsyncConfig, table: HTTPQueryTable, queue: TaskQueueRef, doorbell: EventDoorbell, arena: ArenaRef) {
        self.config = config
        self.table = table
        self.queue = queue
        self.doorbell = doorbell
        self.arena = arena
        next = config.defaultRequest()
    }

    func resetSettings() {
        next = config.defaultRequest()
        suspendNext = true
    }
}

/// What the route of an answered query reads: `$http_ok`, `$http_rs`, `$http_rb`...
struct HTTPAsyncResult {
    var queryID: UInt64
    var response: HTTPResponse
}

extension MessageContext {
    /// http_async_query(url, route): suspends the request's transaction when there is one
    /// (and `$http_req(suspend)` allows) and queues the query for an Http Worker. Returns
    /// 0 when suspended (the script stops), 1 when the script goes on, -1 when nothing was
    /// queued (logged).
    func httpAsyncQuery(url: String, route: Int, flags: UInt64) -> Int {
        let p = process
        guard let client = p.httpAsync else { return -1 }
        var request = client.next
        let suspend = client.suspendNext
        client.resetSettings()
        request.url = url
        guard !url.isEmpty else {
            client.table.count(.refused)
            p.log.error("http_async_client", "http_async_query: empty URL")
            return -1
        }
        var suspended: Transaction?
        if suspend, transaction != nil {
            switch self.suspend(flags: flags, target: .route(route), wait: .none) {
            case .suspended(let tx): suspended = tx
            case .absorbed: return 0
            case .failed:
                client.table.count(.refused)
                p.log.error("http_async_client", "http_async_query: the transaction could not be suspended")
                return -1
            }
        }
        func refuse(_ why: String) -> Int {
            suspended?.withLock { $0.cancelSuspension() }
            client.table.count(.refused)
            p.log.error("http_async_client", "http_async_query(\(url)): \(why)")
            return -1
        }
        let description = HTTPQueryTable.Description(method: request.method, url: url, timeoutMs: request.timeoutMs,
                                                      transaction: suspended?.id)
        guard let claim = client.table.claim(description, ownerSlot: p.slot) else {
            return refuse("\(client.table.capacity) queries are already pending (max_pending)")
        }
        let query = HTTPAsyncQuery(claim: claim, transaction: suspended?.id, route: route, request: request)
        switch client.queue.push(.http(payload: query.encoded()), arena: client.arena, nonblocking: true) {
        case .queued: break
        case .full:
            client.table.release(claim)
            return refuse("the Http Workers' queue is full")
        case .noMemory:
            client.table.release(claim)
            return refuse("no shared memory for the query")
        }
        client.table.queued(claim)
        client.doorbell.ring()
        client.lastQueryID = claim.id
        return suspended == nil ? 1 : 0
    }
}
