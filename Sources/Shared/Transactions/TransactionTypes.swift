import CShared

/// A transaction's name: its bucket and the bucket's generation number when it was
/// created. A stale name never reaches a slot reused by a newer transaction.
public struct TransactionID: Hashable, Sendable, CustomStringConvertible {
    public var index: UInt32
    public var label: UInt32

    public init(index: UInt32, label: UInt32) {
        self.index = index
        self.label = label
    }

    public var description: String { "\(index):\(label)" }
}

/// What has happened to a transaction (cs_tx.flags).
public struct TransactionFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// An INVITE server transaction (set at creation, never changed).
    public static let invite = TransactionFlags(rawValue: UInt32(CS_TX_INVITE))
    /// t_suspend or an async function holds it. Changed only through `suspend` and
    /// `endSuspension`, which keep the table's gauge right.
    public static let suspended = TransactionFlags(rawValue: UInt32(CS_TX_SUSPENDED))
    /// A final reply went upstream.
    public static let replied = TransactionFlags(rawValue: UInt32(CS_TX_REPLIED))
    /// A CANCEL matched it.
    public static let canceled = TransactionFlags(rawValue: UInt32(CS_TX_CANCELED))
    /// Its final-response timer, or a branch's, fired.
    public static let timedOut = TransactionFlags(rawValue: UInt32(CS_TX_TIMED_OUT))
    /// Removed from its bucket: lookups no longer find it.
    public static let unlinked = TransactionFlags(rawValue: UInt32(CS_TX_UNLINKED))
    /// The ACK of a negative final reply arrived.
    public static let acked = TransactionFlags(rawValue: UInt32(CS_TX_ACKED))
    /// It has client branches (t_relay).
    public static let relayed = TransactionFlags(rawValue: UInt32(CS_TX_RELAYED))
    /// A process died holding it in the middle of its work: its final-response timer
    /// answers 500 (set by `TransactionTable.settleHolds`).
    public static let orphaned = TransactionFlags(rawValue: UInt32(CS_TX_ORPHANED))
}

/// What has happened on one client branch (cs_tx_branch.flags).
public struct BranchFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let used = BranchFlags(rawValue: UInt16(CS_BR_USED))
    /// A 1xx arrived (an INVITE's retransmissions stop; fr_inv_timer applies).
    public static let provisional = BranchFlags(rawValue: UInt16(CS_BR_PROVISIONAL))
    /// A final reply arrived, or the branch timed out.
    public static let final = BranchFlags(rawValue: UInt16(CS_BR_FINAL))
    /// A CANCEL was sent on it.
    public static let canceled = BranchFlags(rawValue: UInt16(CS_BR_CANCELED))
}

/// The timers of a transaction: each is one link embedded in it.
public enum TransactionTimer: Equatable, Sendable {
    /// fr_timer / fr_inv_timer while the transaction waits with no branch (suspended).
    case finalResponse
    /// Timer G: our negative final reply to an INVITE again, until its ACK.
    case replyRetransmission
    /// wt_timer: a finished transaction kept to absorb retransmissions.
    case wait
    /// Timers A/E: a branch's request again.
    case branchRetransmission(Int)
    /// Timers B/F: a branch's own timeout.
    case branchTimeout(Int)
    /// The async module's wait, armed in the second ring or the millisecond wheel.
    case asyncWait

    /// The link kind stored in the wheel (cs_tx.h: CS_TXT_*, a branch's number << 8).
    var kind: UInt32 {
        switch self {
        case .finalResponse: UInt32(CS_TXT_FR)
        case .replyRetransmission: UInt32(CS_TXT_UAS_RETR)
        case .wait: UInt32(CS_TXT_WAIT)
        case .branchRetransmission(let b): UInt32(CS_TXT_BRANCH_RETR) | UInt32(b) << 8
        case .branchTimeout(let b): UInt32(CS_TXT_BRANCH_FR) | UInt32(b) << 8
        case .asyncWait: UInt32(CS_TXT_ASYNC)
        }
    }

    /// The timer of a link kind, or nil for a kind that names none.
    init?(kind: UInt32) {
        let branch = Int(kind >> 8)
        let valid = branch < Int(CS_TX_MAX_BRANCHES)
        switch Int32(kind & 0xff) {
        case Int32(CS_TXT_FR) where branch == 0: self = .finalResponse
        case Int32(CS_TXT_UAS_RETR) where branch == 0: self = .replyRetransmission
        case Int32(CS_TXT_WAIT) where branch == 0: self = .wait
        case Int32(CS_TXT_ASYNC) where branch == 0: self = .asyncWait
        case Int32(CS_TXT_BRANCH_RETR) where valid: self = .branchRetransmission(branch)
        case Int32(CS_TXT_BRANCH_FR) where valid: self = .branchTimeout(branch)
        default: return nil
        }
    }
}

/// What a resumed transaction runs.
public enum ResumeTarget: Equatable, Sendable {
    /// Nothing recorded (t_suspend: t_continue names the route).
    case none
    /// `route[index]` (async_route, async_task_route...).
    case route(Int)
    /// The rest of an action list from an action (async_sleep): the script's resume point.
    case action(block: Int32, action: Int32)
}

/// What a suspended transaction waits for before it is resumed.
public enum SuspendWait: Equatable, Sendable {
    /// Only its final-response timer (t_suspend; t_continue resumes it).
    case none
    /// The async second ring, until this monotonic millisecond.
    case secondRing(dueMs: UInt64)
    /// The async millisecond wheel, until this monotonic millisecond.
    case milliseconds(dueMs: UInt64)
    /// A task of this group's queue (the caller queues it after suspending).
    case taskGroup(index: Int)
}

/// The buffers a transaction keeps in blocks of their own.
public enum StoredBuffer: Equatable, Sendable {
    /// The last reply sent upstream (for retransmissions).
    case reply
    /// The script state saved with the transaction (the runtime's encoding).
    case scriptState
    /// A branch's request as sent.
    case branchRequest(Int)
    /// A branch's last final reply.
    case branchReply(Int)
}

/// The timing wheels in the arena whose links belong to transactions.
public enum TransactionWheel: String, CaseIterable, Sendable {
    /// tm's timers: 10 ms ticks, 4096 slots (a lap of 41 s; longer timers wait laps).
    case tm = "tm"
    /// The async second ring: 100 ms ticks, 2048 slots (a lap of 204.8 s > 100 s).
    case secondRing = "async"
    /// The async millisecond wheel: ms_timer ticks, enough slots for 30 s.
    case milliseconds = "asyncms"

    /// The number cs_tx.async_wait_wheel records for an async wheel (0: none).
    var asyncNumber: UInt32 {
        switch self {
        case .tm: 0
        case .secondRing: 1
        case .milliseconds: 2
        }
    }

    /// The wheel's layout, for `ArenaRef.installTransactions`. `tickMs` is used by the
    /// millisecond wheel only (its resolution is the async module's ms_timer).
    public func spec(tickMs: Int = 1) -> (name: String, tickMs: Int, slots: Int) {
        switch self {
        case .tm: return (rawValue, 10, 4096)
        case .secondRing: return (rawValue, 100, 2048)
        case .milliseconds:
            var slots = 1
            while slots * tickMs < 32_768 { slots <<= 1 }
            return (rawValue, tickMs, slots)
        }
    }
}
