import CShared

/// http_async_client's pending queries in the arena (section "httpq", cs_httpq.h): one
/// entry per query from http_async_query() until its route has run.
public struct HTTPQueryTable: @unchecked Sendable {
    let raw: UnsafeMutablePointer<cs_httpq_table>

    public static let section = "httpq"

    /// A claimed entry: its index in the table and the query's id.
    public struct Claim: Equatable, Sendable {
        public let index: UInt32
        public let id: UInt64

        public init(index: UInt32, id: UInt64) {
            self.index = index
            self.id = id
        }
    }

    /// What a pending query records for the dump.
    public struct Description: Sendable {
        public var method: String?
        public var url: String
        public var timeoutMs: Int
        public var transaction: TransactionID?

        public init(method: String?, url: String, timeoutMs: Int, transaction: TransactionID?) {
            self.method = method
            self.url = url
            self.timeoutMs = timeoutMs
            self.transaction = transaction
        }
    }

    /// The statistics Kamailio's module keeps, plus Respite's own.
    public enum Counter {
        case requests, replies, errors, timeouts, refused, orphaned
    }

    public var capacity: Int { Int(raw.pointee.capacity) }
    public var used: Int { Int(cs_atomic_load_u32(&raw.pointee.used)) }

    /// Takes an entry for a new query and records what it asks for; nil when every entry
    /// is in use. The process at `ownerSlot` answers for it (the master frees it if that
    /// process dies) until `queued` hands it to the queue.
    public func claim(_ query: Description, ownerSlot: Int32) -> Claim? {
        let index = cs_httpq_claim(raw, MonotonicClock.nowMs, ownerSlot)
        guard index != CS_HTTPQ_NONE, let e = cs_httpq_entry_at(raw, index) else { return nil }
        e.pointee.timeout_ms = UInt32(clamping: query.timeoutMs)
        if let tx = query.transaction {
            e.pointee.tx_index = tx.index
            e.pointee.tx_label = tx.label
        }
        let url = Array(query.url.utf8)
        e.pointee.url_len = UInt32(clamping: url.count)
        withUnsafeMutableBytes(of: &e.pointee.url) { copyTerminated(url, into: $0) }
        withUnsafeMutableBytes(of: &e.pointee.method) { copyTerminated(Array((query.method ?? "").utf8), into: $0) }
        return Claim(index: index, id: e.pointee.id)
    }

    /// The query's task is in the queue: no process answers for the entry until a worker
    /// takes it.
    public func queued(_ claim: Claim) {
        guard let e = cs_httpq_entry_at(raw, claim.index), e.pointee.id == claim.id else { return }
        e.pointee.worker_slot = -1
    }

    /// A worker took the query: it is running in the process at `slot`. False when the
    /// entry no longer holds this query (it was released meanwhile).
    public func start(_ claim: Claim, workerSlot: Int32) -> Bool {
        guard let e = cs_httpq_entry_at(raw, claim.index), e.pointee.id == claim.id else { return false }
        e.pointee.worker_slot = workerSlot
        e.pointee.started_ms = MonotonicClock.nowMs
        cs_atomic_store_u32(&e.pointee.state, CS_HTTPQ_RUNNING.rawValue)
        return true
    }

    /// The query is over: its entry goes back to the free list (if it still holds it).
    public func release(_ claim: Claim) {
        guard let e = cs_httpq_entry_at(raw, claim.index), e.pointee.id == claim.id else { return }
        cs_httpq_release(raw, claim.index)
    }

    /// Frees the entries a dead process answered for (the master, after reaping it): a
    /// producer's not yet queued, a worker's running; how many.
    public func releaseEntries(ofWorker slot: Int32) -> Int {
        Int(cs_httpq_release_worker(raw, slot))
    }

    public func count(_ counter: Counter) {
        switch counter {
        case .requests: cs_atomic_add_u64(&raw.pointee.requests, 1)
        case .replies: cs_atomic_add_u64(&raw.pointee.replies, 1)
        case .errors: cs_atomic_add_u64(&raw.pointee.errors, 1)
        case .timeouts: cs_atomic_add_u64(&raw.pointee.timeouts, 1)
        case .refused: cs_atomic_add_u64(&raw.pointee.refused, 1)
        case .orphaned: cs_atomic_add_u64(&raw.pointee.orphaned, 1)
        }
    }

    private func copyTerminated(_ bytes: [UInt8], into buffer: UnsafeMutableRawBufferPointer) {
        let n = min(bytes.count, buffer.count - 1)
        buffer.copyBytes(from: bytes[0..<n])
        buffer[n] = 0
    }
}

extension ArenaRef {
    /// Creates section "httpq" with room for `capacity` pending queries (master, before fork).
    public func installHTTPQueries(capacity: Int) throws(ArenaError) -> HTTPQueryTable {
        guard capacity > 0, capacity <= 1 << 20 else { throw .invalidLayout("http query table: capacity \(capacity) is not in 1...1048576") }
        let memory = try addSection(HTTPQueryTable.section, size: Int(cs_httpq_table_bytes(UInt32(capacity))),
                                    kind: CS_SECTION_HTTPQ, version: CS_HTTPQ_VERSION)
        let table = memory.assumingMemoryBound(to: cs_httpq_table.self)
        cs_httpq_init(table, UInt32(capacity))
        return HTTPQueryTable(raw: table)
    }

    /// Section "httpq", if the server has one.
    public var httpQueries: HTTPQueryTable? {
        section(HTTPQueryTable.section).map { HTTPQueryTable(raw: $0.assumingMemoryBound(to: cs_httpq_table.self)) }
    }
}
