/// What `respite-shm` shows: a snapshot of an arena, read without locks from a
/// read-only mapping. Every field was bounds-checked before it was read; what could
/// not be read is listed in `problems` instead.
public struct ArenaReport: Codable, Sendable {
    public struct Header: Codable, Sendable {
        public var name: String
        public var size: UInt64
        public var layoutVersion: UInt32
        public var creatorPID: Int32
        /// The creator's start time (clock ticks after boot), when the header records it.
        public var creatorStartTicks: UInt64?
        /// The creator runs, or may run (`creatorStatus`).
        public var creatorAlive: Bool
        /// "running", "gone", or "pid in use, start time not recorded".
        public var creatorStatus: String
        public var createdUnixSeconds: Double
        public var baseAddress: String
        public var ready: Bool
        public var debugAllocator: Bool
    }

    public struct Section: Codable, Sendable {
        public var name: String
        public var offset: UInt64
        public var size: UInt64
        public var kind: String
    }

    public struct Allocator: Codable, Sendable {
        public var heapBytes: UInt64
        public var usedBytes: UInt64
        public var freeBytes: UInt64
        public var fragments: UInt64
        public var liveAllocations: UInt64
        public var totalAllocations: UInt64
        public var totalFrees: UInt64
        public var failedAllocations: UInt64
        public var peakUsedBytes: UInt64
        public var largestFreeBlock: UInt64
        public var blocks: UInt64
        public var fenceErrors: UInt64
        /// Freed small blocks waiting in the lock-free bins (counted in usedBytes).
        public var binnedBlocks: UInt64
        public var binnedBytes: UInt64
        /// Freed small blocks held in per-process caches (counted in usedBytes).
        public var cachedBlocks: UInt64
        public var cachedBytes: UInt64
        public var lockHolderPID: Int32
        public var lockRecoveries: UInt32
        /// Set when the block walk stopped at corruption (in every read).
        public var walkError: String?
        /// The allocator changed while it was read: the counts are approximate.
        public var approximate: Bool = false
    }

    public struct Process: Codable, Sendable {
        public var slot: Int
        public var pid: Int32
        public var alive: Bool
        public var role: String
        public var rank: Int32
        public var state: String
        public var description: String
        public var startedUnixSeconds: Double
        public var restarts: UInt32
        public var counters: [String: UInt64]
    }

    public struct Queue: Codable, Sendable {
        public var name: String
        public var workers: UInt32
        public var nonblocking: Bool
        public var usleepMicroseconds: UInt32
        public var maxDepth: UInt64
        public var depth: Int64
        public var pushed: UInt64
        public var taken: UInt64
        public var refused: UInt64
        public var waitedFull: UInt64
        public var sleepingConsumers: UInt32
        public var waitingProducers: UInt32
        public var consumerLockHolderPID: Int32
        /// How long the oldest queued task has waited (nil: the queue is empty).
        public var oldestWaitingMs: Double? = nil
        /// Tasks were pushed or taken while it was read: `depth` is approximate.
        public var approximate: Bool = false
    }

    /// A `$shv` variable as the tool saw it (`type` is "null", "int" or "string").
    public struct SharedVariable: Codable, Sendable {
        public var name: String
        public var type: String
        public var int: Int64?
        public var string: String?
        /// The string was longer than the tool shows.
        public var truncated: Bool?
    }

    /// One `$sht` item.
    public struct HashItem: Codable, Sendable {
        public var key: String
        public var type: String
        public var int: Int64?
        public var string: String?
        public var truncated: Bool?
        /// Seconds until it expires (negative: expired, not yet removed); nil = never.
        public var expiresInSeconds: Double?
    }

    /// One `$sht` table and up to `ArenaInspector.maxItemsPerTable` of its items.
    public struct HashTable: Codable, Sendable {
        public var name: String
        public var sizeLog2: UInt32
        public var buckets: UInt32
        /// The table's item counter.
        public var items: UInt64
        /// Items the walk found (expired ones included).
        public var itemsWalked: UInt64
        public var autoexpireSeconds: UInt32
        public var initval: Int64?
        /// Pids holding a bucket lock (sht_lock or an operation in progress).
        public var lockHolders: [Int32]
        public var shown: [HashItem]
        /// Items came or went while it was read: `items` and `itemsWalked` are approximate.
        public var approximate: Bool = false
    }

    public var header: Header
    public var sections: [Section]
    public var allocator: Allocator?
    public var processes: [Process]?
    public var queues: [Queue]?
    public var sharedVariables: [SharedVariable]?
    public var hashTables: [HashTable]?
    /// tm's transaction table (section "txtable").
    public var transactions: Transactions?
    /// Timing wheels (sections "wheel.<name>"), in directory order.
    public var wheels: [Wheel]?
    /// The async module (section "async").
    public var async: Async?
    /// What each process holds of the transactions (section "txholds").
    public var holds: Holds?
    /// http_async_client's pending queries (section "httpq").
    public var httpQueries: HTTPQueries?
    public var tcpConnections: TCPConnections?
    /// The core's DNS cache (section "dnscache").
    public var dnsCache: DNSCache?
    /// usrloc's location table (section "usrloc").
    public var usrloc: Usrloc?
    /// The auth module's nonce state (section "auth").
    public var auth: Auth?
    /// The settings `cfg.set` may change (section "cfg").
    public var changeableSettings: [ChangeableSetting]?
    /// Named statistics (section "stats").
    public var statistics: Statistics?

    public struct Async: Codable, Sendable {
        public var ringTickMs: UInt32
        public var msTimerMs: UInt32
        public var suspended: UInt64
        public var resumed: UInt64
        public var resumeMissed: UInt64
        public var tasksPushed: UInt64
        public var refused: UInt64
        public var ringSleepers: UInt32
        public var msSleepers: UInt32
    }
    /// Parts that could not be read, in words for people: what stayed inconsistent in
    /// every read of its structure.
    public var problems: [String]
    /// Structures read again because a read met a change under it (never a problem).
    public var rereads: Int = 0
}
