import Shared

/// tm's part of a message context: the transaction references the message holds and what
/// the script set for its transaction before (or after) it exists.
struct RequestTM: ~Copyable {
    /// This request's own transaction, once found or created (a reference held until the
    /// message is done).
    var reference: TransactionReference?
    /// A transaction this message refers to without being its request: the INVITE a
    /// CANCEL or ACK names, or the transaction a reply answers.
    var referenced: TransactionReference?
    /// `t_set_fr` before the transaction exists (milliseconds).
    var frTimeout: Int?
    var frInvTimeout: Int?
    /// `t_on_failure` / `t_on_reply` / `t_on_branch` before the transaction exists.
    var onFailure: Int?
    var onReply: Int?
    var onBranch: Int?
    /// `t_on_branch_failure` before the transaction exists (or in an onreply_route, for the
    /// reply's transaction).
    var onBranchFailure: Int?
    /// The script's message flags when the transaction was created or suspended.
    var flagsForTransaction: UInt64 = 0
    /// `$T_reply_code` in a failure route (the winning reply's status, 408 on timeout).
    var failureReplyCode: Int?
    /// The reason phrase of that reply (`$T_reply_reason`).
    var failureReplyReason: String?
    /// While a branch_route or a branch failure route runs: its branch's index (`$T_branch_idx`).
    var branchIndex: Int?
    /// In a branch failure route: the branch ended because it timed out (`t_branch_timeout`).
    var branchTimedOut = false
    /// In a failure route or a resumed route: a new branch was added by `t_relay`.
    var addedBranch = false
    /// Why the last `t_relay` found no next hop for a branch (tm answers with it when no
    /// branch went out).
    var unreachedDestination: InternalError?
    /// The script runs for a transaction that already exists (a failure route, a resumed
    /// route): `t_relay` adds a branch instead of taking the request for a retransmission.
    var inTransactionRoute = false
}
