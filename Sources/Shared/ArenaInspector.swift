import CShared

/// Reads an arena report from any mapping (normally `respite-shm`'s read-only one).
///
/// Never follows a pointer it has not checked: every structure is located through the
/// validated section directory and copied out before use, so a torn or damaged arena
/// yields problems in the report, not a crash. It takes no lock: a structure that a
/// server process changes while it is read is read again (`ArenaInspector+Settle`), and
/// only what stays inconsistent in every read is reported as a problem.
public struct ArenaInspector {
    let base: UnsafeRawPointer
    let size: Int
    /// Items shown per hash table (all are walked and validated).
    public var maxItemsPerTable = 20
    /// Bytes of a string value shown.
    public var maxStringBytes = 200
    /// Transactions shown (all are walked, validated and counted).
    public var maxTransactions = 20
    /// Reads of one structure before what stays inconsistent counts as damage (at least 1).
    public var maxReads = 5
    /// Pause before the n-th read again: n times this many microseconds.
    public var rereadPauseMicroseconds: UInt32 = 200
    /// What to read: an RPC answering one question reads only its part, so that a
    /// management client polling it costs the server little.
    public var parts: Parts = .all

    public struct Parts: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// The allocator's walk (fragmentation, largest free block).
        public static let allocator = Parts(rawValue: 1 << 0)
        public static let processes = Parts(rawValue: 1 << 1)
        public static let queues = Parts(rawValue: 1 << 2)
        /// `$shv` and the htables.
        public static let tables = Parts(rawValue: 1 << 3)
        public static let transactions = Parts(rawValue: 1 << 4)
        public static let wheels = Parts(rawValue: 1 << 5)
        /// The async module's counters and the transaction holds.
        public static let async = Parts(rawValue: 1 << 6)
        /// HTTP queries, TCP connections, the DNS cache, changeable settings.
        public static let network = Parts(rawValue: 1 << 7)
        /// The named statistics (their gauges are filled only when `.transactions` is read too).
        public static let statistics = Parts(rawValue: 1 << 8)
        public static let all = Parts(rawValue: ~0)
    }

    public init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    public func report() -> ArenaReport {
        let header = base.loadUnaligned(as: cs_arena_header.self)
        var problems: [String] = []
        var rereads = 0
        /// Reads one structure until a read checks out (`settled`) and keeps that read.
        func settle<T>(_ read: (inout [String]) -> T, clean: (T) -> Bool = { _ in true }) -> T {
            let r = settled(read, clean: clean)
            problems += r.problems
            rereads += r.reads - 1
            return r.value
        }
        let sections = readSections(header)
        var report = ArenaReport(header: readHeader(header), sections: sections.map(\.public),
                                 allocator: parts.contains(.allocator) ? settle({ readAllocator(&$0) }, clean: { $0?.walkError == nil }) : nil,
                                 processes: nil, queues: nil, problems: [])
        for s in sections where parts.contains(Self.part(of: s.kind)) {
            switch s.kind {
            case CS_SECTION_PROCTABLE.rawValue: report.processes = readProcesses(s, &problems)
            case CS_SECTION_QUEUES.rawValue: report.queues = settle { readQueues(s, &$0) }
            case CS_SECTION_SHV.rawValue: report.sharedVariables = settle { readSharedVariables(s, &$0) }
            case CS_SECTION_HTABLE.rawValue: report.hashTables = settle { readHashTables(s, &$0) }
            case CS_SECTION_TXTABLE.rawValue: report.transactions = settle { readTransactions(s, &$0) }
            case CS_SECTION_WHEEL.rawValue:
                if let wheel = settle({ readWheel(s, &$0) }) { report.wheels = (report.wheels ?? []) + [wheel] }
            case CS_SECTION_ASYNC.rawValue: report.async = readAsync(s, &problems)
            case CS_SECTION_TXHOLDS.rawValue: report.holds = readHolds(s, &problems)
            case CS_SECTION_HTTPQ.rawValue: report.httpQueries = settle { readHTTPQueries(s, &$0) }
            case CS_SECTION_TCPCONN.rawValue: report.tcpConnections = settle { readTCPConnections(s, &$0) }
            case CS_SECTION_DNSCACHE.rawValue: report.dnsCache = settle { readDNSCache(s, &$0) }
            case CS_SECTION_USRLOC.rawValue: report.usrloc = settle { readUsrloc(s, &$0) }
            case CS_SECTION_CFG.rawValue: report.changeableSettings = readChangeableSettings(s, &problems)
            case CS_SECTION_AUTH.rawValue: report.auth = readAuth(s, &problems)
            case CS_SECTION_STATS.rawValue: report.statistics = readStatistics(s, &problems)
            default: break
            }
        }
        if var statistics = report.statistics {
            // Gauges are read from the sections they describe, once those are read.
            let gauges = StatisticGauges.values(from: report)
            for i in statistics.entries.indices where statistics.entries[i].kind == "gauge" {
                statistics.entries[i].value = gauges["\(statistics.entries[i].group):\(statistics.entries[i].name)"] ?? nil
            }
            report.statistics = statistics
        }
        report.problems = problems
        report.rereads = rereads
        return report
    }

    static func part(of kind: UInt32) -> Parts {
        switch kind {
        case CS_SECTION_PROCTABLE.rawValue: return .processes
        case CS_SECTION_QUEUES.rawValue: return .queues
        case CS_SECTION_SHV.rawValue, CS_SECTION_HTABLE.rawValue, CS_SECTION_USRLOC.rawValue, CS_SECTION_AUTH.rawValue: return .tables
        case CS_SECTION_TXTABLE.rawValue: return .transactions
        case CS_SECTION_WHEEL.rawValue: return .wheels
        case CS_SECTION_ASYNC.rawValue, CS_SECTION_TXHOLDS.rawValue: return .async
        case CS_SECTION_STATS.rawValue: return .statistics
        default: return .network
        }
    }

    struct RawSection {
        var `public`: ArenaReport.Section
        var offset: Int
        var size: Int
        var kind: UInt32
    }

    private func readHeader(_ h: cs_arena_header) -> ArenaReport.Header {
        let ticks = h.creator_start_ticks
        let creator = ArenaCreator(pid: h.creator_pid, startTicks: ticks == 0 ? nil : ticks)
        let status = creator.status
        return ArenaReport.Header(
            name: cString(h.name), size: h.size, layoutVersion: h.layout_version,
            creatorPID: h.creator_pid, creatorStartTicks: creator.startTicks,
            creatorAlive: status.mayBeAlive, creatorStatus: status.description,
            createdUnixSeconds: Double(h.created_realtime_ns) / 1e9,
            baseAddress: "0x" + String(h.base_address, radix: 16),
            ready: h.state == UInt32(CS_ARENA_READY), debugAllocator: h.flags & UInt32(CS_ARENA_DEBUG) != 0)
    }

    private func readSections(_ h: cs_arena_header) -> [RawSection] {
        let count = min(Int(h.section_count), Int(CS_MAX_SECTIONS))
        return withUnsafeBytes(of: h.sections) { raw in
            (0..<count).map { i in
                let s = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<cs_section>.stride, as: cs_section.self)
                let kind: String
                switch s.kind {
                case CS_SECTION_ALLOCATOR.rawValue: kind = "allocator"
                case CS_SECTION_PROCTABLE.rawValue: kind = "process table"
                case CS_SECTION_QUEUES.rawValue: kind = "task queues"
                case CS_SECTION_ALLOC_CACHES.rawValue: kind = "alloc caches"
                case CS_SECTION_SHV.rawValue: kind = "shared vars"
                case CS_SECTION_HTABLE.rawValue: kind = "hash tables"
                case CS_SECTION_TXTABLE.rawValue: kind = "transactions"
                case CS_SECTION_WHEEL.rawValue: kind = "timer wheel"
                case CS_SECTION_ASYNC.rawValue: kind = "async"
                case CS_SECTION_TXHOLDS.rawValue: kind = "tx holds"
                case CS_SECTION_HTTPQ.rawValue: kind = "http queries"
                case CS_SECTION_TCPCONN.rawValue: kind = "tcp connections"
                case CS_SECTION_DNSCACHE.rawValue: kind = "dns cache"
                case CS_SECTION_CFG.rawValue: kind = "changeable settings"
                case CS_SECTION_STATS.rawValue: kind = "statistics"
                case CS_SECTION_USRLOC.rawValue: kind = "location table"
                case CS_SECTION_AUTH.rawValue: kind = "auth nonces"
                default: kind = "raw"
                }
                return RawSection(public: .init(name: cString(s.name), offset: s.offset, size: s.size, kind: kind),
                                  offset: Int(clamping: s.offset), size: Int(clamping: s.size), kind: s.kind)
            }
        }
    }

    /// A copy of a `T` at `offset`, or nil if it does not lie inside `[lower, upper)`.
    func load<T>(_ type: T.Type, at offset: Int, in bounds: Range<Int>? = nil) -> T? {
        let lower = bounds?.lowerBound ?? 0, end = bounds?.upperBound ?? size
        guard offset >= lower, offset <= end, end - offset >= MemoryLayout<T>.size, end <= size else { return nil }
        return base.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    private func readAllocator(_ problems: inout [String]) -> ArenaReport.Allocator? {
        let h = base.loadUnaligned(as: cs_arena_header.self)
        guard let c = load(cs_allocator.self, at: Int(clamping: h.allocator_offset)) else {
            problems.append("allocator control block out of bounds")
            return nil
        }
        var walk = cs_alloc_report()
        let walked = cs_alloc_walk(base, UInt64(size), &walk) == 0
        let counters = c.counters
        var binnedBlocks: UInt64 = 0, binnedBytes: UInt64 = 0
        if cs_alloc_binned(base, UInt64(size), &binnedBlocks, &binnedBytes) != 0 {
            problems.append("a small-block bin links outside the heap (torn read or corruption)")
        }
        var cachedBlocks: UInt64 = 0, cachedBytes: UInt64 = 0
        if cs_alloc_cached(base, UInt64(size), &cachedBlocks, &cachedBytes) != 0 {
            problems.append("process allocator caches out of bounds or corrupt")
        }
        // The counters move with every allocation: compare them after the walks.
        let moved = load(cs_allocator.self, at: Int(clamping: h.allocator_offset)).map {
            $0.counters.total_allocs != counters.total_allocs || $0.counters.total_frees != counters.total_frees
        } ?? true
        return ArenaReport.Allocator(
            heapBytes: counters.heap_bytes, usedBytes: counters.used_bytes, freeBytes: counters.free_bytes,
            fragments: counters.free_blocks, liveAllocations: counters.live_allocs,
            totalAllocations: counters.total_allocs, totalFrees: counters.total_frees,
            failedAllocations: counters.failed_allocs, peakUsedBytes: counters.peak_used_bytes,
            largestFreeBlock: walk.largest_free, blocks: walk.blocks,
            fenceErrors: counters.fence_errors + walk.fence_errors,
            binnedBlocks: binnedBlocks, binnedBytes: binnedBytes,
            cachedBlocks: cachedBlocks, cachedBytes: cachedBytes,
            lockHolderPID: c.lock.holder_pid, lockRecoveries: c.lock.recoveries,
            walkError: walked ? nil : "at offset \(walk.error_offset): \(cString(walk.error))", approximate: moved)
    }

    private func readProcesses(_ s: RawSection, _ problems: inout [String]) -> [ArenaReport.Process]? {
        guard let table = load(cs_proc_table.self, at: s.offset, in: s.offset..<(s.offset + s.size)) else {
            problems.append("process table header out of bounds")
            return nil
        }
        let stride = MemoryLayout<cs_proc_entry>.stride
        let fits = (s.size - MemoryLayout<cs_proc_table>.size) / stride
        let count = min(Int(table.count), Int(table.capacity), fits)
        if Int(table.count) > count { problems.append("process table claims \(table.count) entries; \(count) fit") }
        return (0..<count).compactMap { i -> ArenaReport.Process? in
            let at = s.offset + MemoryLayout<cs_proc_table>.size + i * stride
            guard let e = load(cs_proc_entry.self, at: at, in: s.offset..<(s.offset + s.size)) else { return nil }
            var counters: [String: UInt64] = [:]
            withUnsafeBytes(of: e.counters) { raw in
                for k in 0..<Int(CS_PC_COUNT.rawValue) {
                    counters[String(cString: cs_proc_counter_name(UInt32(k)))] =
                        raw.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self)
                }
            }
            let states = ["free", "starting", "running", "exited"]
            return ArenaReport.Process(
                slot: i, pid: e.pid, alive: e.state == UInt32(CS_PROC_RUNNING.rawValue) && Posix.processExists(e.pid),
                role: String(cString: cs_proc_role_name(e.role)), rank: e.rank,
                state: Int(e.state) < states.count ? states[Int(e.state)] : "unknown(\(e.state))",
                description: cString(e.description), startedUnixSeconds: Double(e.started_realtime_ns) / 1e9,
                restarts: e.restarts, counters: counters)
        }
    }

    private func readAsync(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Async? {
        guard s.size >= MemoryLayout<cs_async_state>.size,
              let a = load(cs_async_state.self, at: s.offset, in: s.offset..<(s.offset + s.size)) else {
            problems.append("async section out of bounds")
            return nil
        }
        return .init(ringTickMs: a.ring_tick_ms, msTimerMs: a.ms_tick_ms, suspended: a.suspended, resumed: a.resumed,
                     resumeMissed: a.resume_missed, tasksPushed: a.tasks_pushed, refused: a.refused,
                     ringSleepers: a.ring_bell.sleepers, msSleepers: a.ms_bell.sleepers)
    }

    private func readQueues(_ s: RawSection, _ problems: inout [String]) -> [ArenaReport.Queue]? {
        guard let dir = load(cs_queue_dir.self, at: s.offset, in: s.offset..<(s.offset + s.size)) else {
            problems.append("queue directory out of bounds")
            return nil
        }
        let stride = MemoryLayout<cs_task_queue>.stride
        let fits = (s.size - MemoryLayout<cs_queue_dir>.size) / stride
        let count = min(Int(dir.count), Int(dir.capacity), fits)
        if Int(dir.count) > count { problems.append("queue directory claims \(dir.count) queues; \(count) fit") }
        return (0..<count).compactMap { i -> ArenaReport.Queue? in
            let at = s.offset + MemoryLayout<cs_queue_dir>.size + i * stride
            guard var q = load(cs_task_queue.self, at: at, in: s.offset..<(s.offset + s.size)) else { return nil }
            var st = cs_queue_stats()
            cs_queue_stats_get(&q, &st)
            let oldest = oldestWaiting(q)
            // The depth is pushed less taken, two counters that move apart: compare a second copy.
            let moved = load(cs_task_queue.self, at: at, in: s.offset..<(s.offset + s.size)).map {
                $0.reserved != q.reserved || $0.taken != q.taken
            } ?? true
            return .init(name: cString(q.name), workers: q.workers, nonblocking: q.nonblock != 0,
                         usleepMicroseconds: q.usleep_us, maxDepth: q.max_depth, depth: st.depth,
                         pushed: st.pushed, taken: st.taken, refused: st.refused, waitedFull: st.waited_full,
                         sleepingConsumers: st.sleeping_consumers, waitingProducers: st.waiting_producers,
                         consumerLockHolderPID: q.consumer_lock.holder_pid, oldestWaitingMs: oldest, approximate: moved)
        }
    }

    /// The age of the task at the head of a queue. The queue's links are addresses in the
    /// server's own mapping (liburcu's nodes), so they are translated with the header's
    /// base address and checked before anything is read.
    private func oldestWaiting(_ q: cs_task_queue) -> Double? {
        let header = base.loadUnaligned(as: cs_arena_header.self)
        let first = q.head_storage // __cds_wfcq_head: the first node's address, 0 when empty
        guard first != 0, first >= header.base_address else { return nil }
        let offset = first - header.base_address
        guard offset % 8 == 0, offset >= UInt64(MemoryLayout<cs_arena_header>.size),
              let task = load(cs_task.self, at: Int(clamping: offset)) else { return nil }
        let now = cs_now_ns()
        guard task.enqueued_ns > 0, task.enqueued_ns <= now else { return nil }
        return Double(now - task.enqueued_ns) / 1e6
    }
}

/// A String from a fixed C char array, stopping at the first NUL or the array's end.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// A String from a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
