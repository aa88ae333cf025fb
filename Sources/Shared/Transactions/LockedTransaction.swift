import CShared

/// A transaction while its lock is held: the only way to read or change what can change.
///
/// Handed to the body of `Transaction.withLock` and never outlives it (it cannot be
/// copied, so it cannot be kept). The lock is recursive: code that holds one may call
/// code that locks the same transaction again.
public struct LockedTransaction: ~Copyable {
    public let transaction: Transaction
    var raw: UnsafeMutablePointer<cs_tx> { transaction.raw }
    var table: TransactionTable { transaction.table }

    init(_ transaction: Transaction) { self.transaction = transaction }

    public var id: TransactionID { transaction.id }
    public var isInvite: Bool { transaction.isInvite }

    // MARK: state

    public var flags: TransactionFlags { TransactionFlags(rawValue: raw.pointee.flags) }

    /// Whether any of `flags` is set.
    public func contains(_ flags: TransactionFlags) -> Bool { !self.flags.isDisjoint(with: flags) }

    /// Sets flags. `.suspended` goes through `suspend`, `.unlinked` through `finish`, and
    /// `.invite` is fixed at creation (`markInvite`).
    public func insert(_ flags: TransactionFlags) {
        precondition(flags.isDisjoint(with: [.suspended, .unlinked, .invite]), "flags with their own operation")
        raw.pointee.flags |= flags.rawValue
    }

    public func remove(_ flags: TransactionFlags) {
        precondition(flags.isDisjoint(with: [.suspended, .unlinked, .invite]), "flags with their own operation")
        raw.pointee.flags &= ~flags.rawValue
    }

    /// The last status sent upstream (0: none).
    public var uasStatus: Int {
        get { Int(raw.pointee.uas_status) }
        nonmutating set { raw.pointee.uas_status = UInt32(clamping: newValue) }
    }

    /// Retransmissions of our negative final reply so far (timer G).
    public var uasRetransmits: Int {
        get { Int(raw.pointee.uas_retransmits) }
        nonmutating set { raw.pointee.uas_retransmits = UInt32(clamping: newValue) }
    }

    /// fr_timer (or t_set_fr's second argument), milliseconds.
    public var finalResponseTimeoutMs: Int {
        get { Int(raw.pointee.fr_timeout_ms) }
        nonmutating set { raw.pointee.fr_timeout_ms = UInt32(clamping: newValue) }
    }

    /// fr_inv_timer (or t_set_fr's first argument), milliseconds.
    public var inviteTimeoutMs: Int {
        get { Int(raw.pointee.fr_inv_timeout_ms) }
        nonmutating set { raw.pointee.fr_inv_timeout_ms = UInt32(clamping: newValue) }
    }

    /// The routes armed by t_on_failure, t_on_reply and t_on_branch (nil: none).
    public var failureRoute: Int? {
        get { route(raw.pointee.on_failure) }
        nonmutating set { raw.pointee.on_failure = Int32(clamping: newValue ?? -1) }
    }

    public var replyRoute: Int? {
        get { route(raw.pointee.on_reply) }
        nonmutating set { raw.pointee.on_reply = Int32(clamping: newValue ?? -1) }
    }

    public var branchRoute: Int? {
        get { route(raw.pointee.on_branch) }
        nonmutating set { raw.pointee.on_branch = Int32(clamping: newValue ?? -1) }
    }

    /// The route armed by t_on_branch_failure (an `event_route[tm:branch-failure:X]`
    /// index): each branch created from now on copies it (`TransactionBranch.branchFailureRoute`).
    public var branchFailureRoute: Int? {
        get { route(raw.pointee.on_branch_failure) }
        nonmutating set { raw.pointee.on_branch_failure = Int32(clamping: newValue ?? -1) }
    }

    private func route(_ index: Int32) -> Int? { index >= 0 ? Int(index) : nil }

    /// The script's message flags, as they were when the transaction was last handed on.
    public var messageFlags: UInt64 {
        get { raw.pointee.msg_flags }
        nonmutating set { raw.pointee.msg_flags = newValue }
    }

    /// Fills in what a new transaction fixes for its life: where its request came from,
    /// on which listen socket, and whether it is an INVITE. For `findOrCreate`'s
    /// `initialize`.
    public func setOrigin(_ source: SIPPeer, isInvite: Bool) {
        raw.pointee.src = source.raw
        if isInvite { raw.pointee.flags |= UInt32(CS_TX_INVITE) }
    }

    // MARK: stored buffers

    /// A copy of a stored buffer (empty when none).
    public func bytes(_ buffer: StoredBuffer) -> [UInt8] {
        withBytes(buffer) { Array($0) }
    }

    /// A stored buffer in place (empty when none); valid inside `body` only.
    public func withBytes<R>(_ buffer: StoredBuffer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let (off, len) = withStorage(buffer) { ($0.pointee, $1.pointee) }
        guard off != 0, len > 0 else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return body(UnsafeRawBufferPointer(start: table.arena.base + Int(off), count: Int(len)))
    }

    /// Whether a buffer is stored.
    public func has(_ buffer: StoredBuffer) -> Bool { withStorage(buffer) { off, _ in off.pointee != 0 } }

    /// Replaces a stored buffer with a copy of `bytes` (empty frees it). False when the
    /// arena is full: the old buffer stays.
    @discardableResult
    public func store(_ bytes: [UInt8], in buffer: StoredBuffer) -> Bool {
        withStorage(buffer) { off, len in
            bytes.withUnsafeBufferPointer { cs_tx_store(table.arena.header, off, len, $0.baseAddress, UInt32($0.count)) == 0 }
        }
    }

    /// Frees a stored buffer.
    public func free(_ buffer: StoredBuffer) {
        withStorage(buffer) { off, len in _ = cs_tx_store(table.arena.header, off, len, nil, 0) }
    }

    private func withStorage<R>(_ buffer: StoredBuffer,
                                _ body: (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt32>) -> R) -> R {
        switch buffer {
        case .reply: return body(&raw.pointee.reply_off, &raw.pointee.reply_len)
        case .scriptState: return body(&raw.pointee.state_off, &raw.pointee.state_len)
        case .branchRequest(let b):
            let br = branchPointer(b)
            return body(&br.pointee.request_off, &br.pointee.request_len)
        case .branchReply(let b):
            let br = branchPointer(b)
            return body(&br.pointee.reply_off, &br.pointee.reply_len)
        }
    }

    // MARK: branches

    /// The most branches a transaction has.
    public static let maxBranches = Int(CS_TX_MAX_BRANCHES)

    public var branchCount: Int { Int(raw.pointee.branch_count) }

    /// Branch `index` (< `branchCount`).
    public func branch(_ index: Int) -> TransactionBranch {
        precondition(index >= 0 && index < branchCount, "no branch \(index)")
        return TransactionBranch(raw: branchPointer(index))
    }

    /// Branches with no final answer yet.
    public var pendingBranches: Int {
        (0..<branchCount).count { !branch($0).flags.contains(.final) }
    }

    /// Adds a branch sent to `destination` with `request` as its message. Returns its
    /// index; nil when the transaction has `maxBranches` already or the arena has no room
    /// for the request copy (nothing changes then).
    public func addBranch(to destination: SIPPeer, request: [UInt8], retransmitIntervalMs: Int) -> Int? {
        let b = branchCount
        guard b < Self.maxBranches else { return nil }
        let br = branchPointer(b)
        guard request.withUnsafeBufferPointer({
            cs_tx_store(table.arena.header, &br.pointee.request_off, &br.pointee.request_len, $0.baseAddress, UInt32($0.count))
        }) == 0 else { return nil }
        br.pointee.dest = destination.raw
        br.pointee.flags = UInt16(CS_BR_USED)
        br.pointee.last_status = 0
        br.pointee.retransmits = 0
        br.pointee.retr_interval_ms = UInt32(clamping: retransmitIntervalMs)
        br.pointee.on_branch_failure = raw.pointee.on_branch_failure
        raw.pointee.branch_count = UInt32(b + 1)
        return b
    }

    private func branchPointer(_ index: Int) -> UnsafeMutablePointer<cs_tx_branch> {
        withUnsafeMutablePointer(to: &raw.pointee.branches) {
            UnsafeMutableRawPointer($0).assumingMemoryBound(to: cs_tx_branch.self) + index
        }
    }

    // MARK: timers

    /// Arms one of tm's timers `afterMs` from now (re-arming moves it) and wakes the
    /// `timer` process if it sleeps. The armed timer holds a reference.
    public func arm(_ timer: TransactionTimer, afterMs: Int) {
        precondition(timer != .asyncWait, "the async wait is armed by suspend")
        arm(timer, in: .tm, dueMs: cs_now_ms() + UInt64(max(afterMs, 0)))
    }

    /// Disarms one of tm's timers; its reference goes. False when it was not armed.
    @discardableResult
    public func disarm(_ timer: TransactionTimer) -> Bool {
        precondition(timer != .asyncWait, "the async wait ends by firing")
        guard let wheel = table.wheels[.tm] else { return false }
        return cs_tx_timer_disarm(table.arena.header, wheel.raw, table.raw, raw, link(timer)) == 1
    }

    public func isArmed(_ timer: TransactionTimer) -> Bool { link(timer).pointee.slot != 0 }

    private func arm(_ timer: TransactionTimer, in which: TransactionWheel, dueMs: UInt64) {
        guard let wheel = table.wheels[which] else { preconditionFailure("wheel '\(which.rawValue)' is not installed") }
        cs_tx_timer_arm(table.arena.header, wheel.raw, raw, link(timer), dueMs, timer.kind)
        table.bell(for: which)?.ring() // a load unless a timer process sleeps
    }

    private func link(_ timer: TransactionTimer) -> UnsafeMutablePointer<cs_timer_link> {
        cs_tx_link(raw, timer.kind)!
    }

    // MARK: life

    /// Ends the transaction's life: its tm timers stop, it is no longer suspended, lookups
    /// stop finding it; it is freed when the last reference goes. Idempotent.
    public func finish() {
        if let wheel = table.wheels[.tm] { cs_tx_timer_disarm_all(table.arena.header, wheel.raw, table.raw, raw) }
        endSuspension()
        cs_tx_unlink(table.arena.header, table.raw, raw)
    }

    // MARK: suspension

    /// Suspends the transaction in one step: the script state and flags are saved with
    /// it, `target` is what its resume runs, `wait` is what resumes it (armed here for the
    /// async wheels), and its final-response timer starts. Nothing changes unless it
    /// answers `.suspended`.
    public func suspend(target: ResumeTarget, wait: SuspendWait, messageFlags: UInt64,
                        scriptState: [UInt8]) -> SuspendOutcome {
        guard !contains([.replied, .canceled, .suspended]) else { return .answeredOrSuspended }
        guard store(scriptState, in: .scriptState) else { return .noMemory }
        raw.pointee.msg_flags = messageFlags
        switch target {
        case .none: raw.pointee.resume_kind = UInt32(CS_RESUME_NONE)
        case .route(let r):
            raw.pointee.resume_kind = UInt32(CS_RESUME_ROUTE)
            raw.pointee.resume_route = Int32(clamping: r)
        case .action(let block, let action):
            raw.pointee.resume_kind = UInt32(CS_RESUME_ACTION)
            raw.pointee.resume_block = block
            raw.pointee.resume_action = action
        }
        switch wait {
        case .none: break
        case .secondRing(let due): waitInAsyncWheel(.secondRing, dueMs: due)
        case .milliseconds(let due): waitInAsyncWheel(.milliseconds, dueMs: due)
        case .taskGroup(let index):
            raw.pointee.resume_group = UInt32(clamping: index)
            raw.pointee.resume_due_ms = 0
        }
        raw.pointee.flags |= UInt32(CS_TX_SUSPENDED)
        cs_tx_count_suspended(table.raw, 1)
        arm(.finalResponse, afterMs: finalResponseTimeoutMs)
        return .suspended
    }

    public enum SuspendOutcome: Equatable, Sendable {
        case suspended
        /// Answered, cancelled, or suspended already.
        case answeredOrSuspended
        /// No room in the arena for the script state.
        case noMemory
    }

    /// Ends a suspension (resumed, answered, timed out, or handed back). False when the
    /// transaction was not suspended.
    @discardableResult
    public func endSuspension() -> Bool {
        guard raw.pointee.flags & UInt32(CS_TX_SUSPENDED) != 0 else { return false }
        raw.pointee.flags &= ~UInt32(CS_TX_SUSPENDED)
        cs_tx_count_suspended(table.raw, -1)
        return true
    }

    /// Takes back a suspension that could not be handed on (a full task queue): no longer
    /// suspended, its final-response timer stopped.
    public func cancelSuspension() {
        guard endSuspension() else { return }
        disarm(.finalResponse)
    }

    /// What a resume of this transaction runs.
    public var resumeTarget: ResumeTarget {
        switch Int32(raw.pointee.resume_kind) {
        case Int32(CS_RESUME_ROUTE): .route(Int(raw.pointee.resume_route))
        case Int32(CS_RESUME_ACTION): .action(block: raw.pointee.resume_block, action: raw.pointee.resume_action)
        default: .none
        }
    }

    /// A fired async wait that is not the transaction's current one: the transaction was
    /// suspended again (from its failure or resumed route) with a later wait, which is
    /// the one that counts.
    public var asyncWaitWasReplaced: Bool {
        raw.pointee.resume_due_ms > cs_now_ms() && isArmed(.asyncWait)
    }

    /// Arms the async wait again in the wheel it was in, `afterMs` from now (the
    /// millisecond timer retries a wait whose task queue was full).
    public func retryAsyncWait(afterMs: Int) {
        let which: TransactionWheel = raw.pointee.async_wait_wheel == TransactionWheel.secondRing.asyncNumber
            ? .secondRing : .milliseconds
        arm(.asyncWait, in: which, dueMs: cs_now_ms() + UInt64(max(afterMs, 0)))
    }

    private func waitInAsyncWheel(_ which: TransactionWheel, dueMs: UInt64) {
        // An earlier wait (suspended again from a failure or resumed route) may still be
        // armed, maybe in the other wheel: take it out of the wheel that holds it first.
        let previous = TransactionWheel.allCases.first { $0 != .tm && $0.asyncNumber == raw.pointee.async_wait_wheel }
        if let previous, isArmed(.asyncWait), let wheel = table.wheels[previous] {
            _ = cs_tx_timer_disarm(table.arena.header, wheel.raw, table.raw, raw, link(.asyncWait))
        }
        raw.pointee.resume_due_ms = dueMs
        raw.pointee.async_wait_wheel = which.asyncNumber
        arm(.asyncWait, in: which, dueMs: dueMs)
    }
}

/// A view of one client branch of a locked transaction (valid while the lock is held).
public struct TransactionBranch {
    let raw: UnsafeMutablePointer<cs_tx_branch>

    /// Where the request went, and how (nil only in a damaged arena).
    public var destination: SIPPeer? { SIPPeer(raw.pointee.dest) }

    public var flags: BranchFlags {
        get { BranchFlags(rawValue: raw.pointee.flags) }
        nonmutating set { raw.pointee.flags = newValue.rawValue }
    }

    /// The highest status received (0: none).
    public var lastStatus: Int {
        get { Int(raw.pointee.last_status) }
        nonmutating set { raw.pointee.last_status = UInt32(clamping: newValue) }
    }

    public var retransmits: Int {
        get { Int(raw.pointee.retransmits) }
        nonmutating set { raw.pointee.retransmits = UInt32(clamping: newValue) }
    }

    /// The current retransmission interval (timers A/E double it).
    public var retransmitIntervalMs: Int {
        get { Int(raw.pointee.retr_interval_ms) }
        nonmutating set { raw.pointee.retr_interval_ms = UInt32(clamping: newValue) }
    }

    /// Whether a final reply from downstream is stored for it.
    public var hasReply: Bool { raw.pointee.reply_off != 0 }

    /// The `event_route[tm:branch-failure:X]` that runs when this branch fails (the
    /// transaction's t_on_branch_failure arm when the branch was created; nil: none).
    public var branchFailureRoute: Int? {
        get { raw.pointee.on_branch_failure >= 0 ? Int(raw.pointee.on_branch_failure) : nil }
        nonmutating set { raw.pointee.on_branch_failure = Int32(clamping: newValue ?? -1) }
    }
}
