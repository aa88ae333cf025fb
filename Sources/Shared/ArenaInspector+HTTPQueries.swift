import CShared

extension ArenaReport {
    /// Section "httpq": http_async_client's pending queries and its statistics.
    public struct HTTPQueries: Codable, Sendable {
        public var capacity: UInt32
        public var used: UInt32
        public var highWater: UInt32
        public var requests: UInt64
        public var replies: UInt64
        public var errors: UInt64
        public var timeouts: UInt64
        public var refused: UInt64
        public var orphaned: UInt64
        public var settled: UInt64
        /// Bytes the section takes per entry (fixed, whether in use or not).
        public var entryBytes: Int
        /// The pending queries, oldest first (at most `ArenaInspector.maxTransactions`).
        public var pending: [PendingQuery]
    }

    public struct PendingQuery: Codable, Sendable {
        public var id: UInt64
        /// "queued" (waiting for a worker) or "running".
        public var state: String
        public var method: String
        /// The start of the URL (`urlLength` is the whole URL's length).
        public var url: String
        public var urlLength: UInt32
        public var ageMs: UInt64
        public var timeoutMs: UInt32
        /// "index:label" of the suspended transaction; nil when none waits.
        public var transaction: String?
        public var workerSlot: Int32?
    }
}

extension ArenaInspector {
    func readHTTPQueries(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.HTTPQueries? {
        guard let (table, capacity, entryAt) = headerAndRows(s, cs_httpq_table.self, cs_httpq_entry.self,
                                                             what: "http query table", claimed: { Int($0.capacity) }, &problems)
        else { return nil }
        let now = cs_now_ms()
        var pending: [ArenaReport.PendingQuery] = []
        var inUse = 0
        for i in 0..<capacity {
            guard let e = entryAt(i), e.state != CS_HTTPQ_FREE.rawValue else { continue }
            inUse += 1
            let url = withUnsafeBytes(of: e.url) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let method = withUnsafeBytes(of: e.method) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            pending.append(.init(id: e.id, state: e.state == CS_HTTPQ_RUNNING.rawValue ? "running" : "queued",
                                 method: method.isEmpty ? "GET/POST" : method, url: url, urlLength: e.url_len,
                                 ageMs: now >= e.queued_ms ? now - e.queued_ms : 0, timeoutMs: e.timeout_ms,
                                 transaction: e.tx_label == 0 ? nil : "\(e.tx_index):\(e.tx_label)",
                                 workerSlot: e.worker_slot >= 0 ? e.worker_slot : nil))
        }
        if inUse != Int(table.used) {
            problems.append("http query table: \(inUse) entries in use, the table counts \(table.used)")
        }
        pending.sort { $0.ageMs > $1.ageMs }
        return ArenaReport.HTTPQueries(
            capacity: table.capacity, used: table.used, highWater: table.high_water, requests: table.requests,
            replies: table.replies, errors: table.errors, timeouts: table.timeouts, refused: table.refused,
            orphaned: table.orphaned, settled: table.settled, entryBytes: MemoryLayout<cs_httpq_entry>.stride,
            pending: Array(pending.prefix(maxTransactions)))
    }
}
