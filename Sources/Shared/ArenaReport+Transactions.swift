/// The transaction table and timing wheels as `respite-shm` shows them.
extension ArenaReport {
    /// The table's load and up to `ArenaInspector.maxTransactions` transactions.
    public struct Transactions: Codable, Sendable {
        public var buckets: UInt32
        /// The table's counters.
        public var live: UInt64
        public var created: UInt64
        public var destroyed: UInt64
        public var suspended: UInt64
        public var staleLookups: UInt64
        public var failedCreates: UInt64
        /// Transactions the bucket walk found (linked ones only).
        public var walked: UInt64
        /// How many of the walked transactions carry each state flag.
        public var byState: StateCounts
        /// Pids holding a bucket lock when the tool looked.
        public var bucketLockHolders: [Int32]
        /// Suspended transactions first, then those with other state flags, then the
        /// rest, each group in bucket order.
        public var shown: [Transaction]
        /// Transactions were created, destroyed or suspended while the table was read:
        /// `live`, `walked` and `byState` are approximate.
        public var approximate: Bool = false
    }

    /// Counts by state over the walked transactions.
    public struct StateCounts: Codable, Sendable {
        public var suspended: UInt64 = 0
        public var replied: UInt64 = 0
        public var relayed: UInt64 = 0
        public var canceled: UInt64 = 0
        public var timedOut: UInt64 = 0

        public init() {}
    }

    /// One transaction.
    public struct Transaction: Codable, Sendable {
        /// The bucket and the label: the transaction's name, "index:label".
        public var index: UInt32
        public var label: UInt32
        public var method: String
        public var callID: String
        /// Where its request came from: "udp:1.2.3.4:5060", "tcp:[::1]:5060#7" (connection 7).
        public var source: String
        /// CS_TX_* flags as words ("invite", "suspended", ...).
        public var flags: [String]
        /// Last status sent upstream, 0 = none.
        public var uasStatus: UInt32
        /// Milliseconds since it was created (monotonic clock, system-wide).
        public var ageMs: Int64
        public var refcount: Int32
        public var requestBytes: UInt32
        public var branches: [Branch]
        /// Set when it is suspended: where it will resume.
        public var resume: Resume?
        /// pid holding the reply lock, if any.
        public var lockHolderPID: Int32?
        /// The routes armed on it, by tm's function name ("t_on_failure", "t_on_reply",
        /// "t_on_branch", "t_on_branch_failure") -> route index; only those set.
        public var armedRoutes: [String: Int32] = [:]
    }

    /// One client branch.
    public struct Branch: Codable, Sendable {
        /// "udp:1.2.3.4:5060", "tcp:[::1]:5060#7" (connection 7; none: found or opened by address).
        public var destination: String
        /// Highest status received, 0 = none.
        public var lastStatus: UInt32
        /// CS_BR_* flags as words.
        public var flags: [String]
        public var retransmits: UInt32
        /// The event_route[tm:branch-failure:X] index that runs when it fails (nil: none).
        public var branchFailureRoute: Int32? = nil
    }

    /// Where a suspended transaction resumes.
    public struct Resume: Codable, Sendable {
        /// "route", "action" or "none".
        public var kind: String
        public var route: Int32
        public var block: Int32
        public var action: Int32
        /// Task group index that will run it.
        public var group: UInt32
        /// Milliseconds until the async wait ends (negative: overdue); nil when it does
        /// not wait on a timer.
        public var dueInMs: Int64?
    }

    /// One timing wheel.
    public struct Wheel: Codable, Sendable {
        public var name: String
        public var tickMs: UInt32
        public var slots: UInt32
        public var armed: UInt64
        public var armedTotal: UInt64
        public var firedTotal: UInt64
        /// Milliseconds until the earliest armed link is due (negative: overdue); nil
        /// when nothing is armed.
        public var nextDueInMs: Int64?
        public var lockHolderPID: Int32?
        /// What is pending, grouped by when it is due (the first groups in time order):
        /// per second for wheels of 10 ms ticks or more, per 10 ticks otherwise.
        public var pending: [PendingGroup] = []
        /// Links the walk found.
        public var walked: UInt64 = 0
        /// Links were armed, disarmed or fired while it was read (or a live process
        /// held its lock): `armed`, `walked` and `pending` are approximate.
        public var approximate: Bool = false
    }

    public struct PendingGroup: Codable, Sendable {
        /// Milliseconds from now to the start of the group (negative: overdue).
        public var dueInMs: Int64
        public var count: Int
    }
}
