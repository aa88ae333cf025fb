import CShared

/// A view of the async module's shared state (section "async", cs_async.h): the doorbells
/// its timer processes sleep on and the counters respite-shm shows.
///
/// Owned by the arena; no `deinit`. The master lays it out before fork
/// (`ArenaRef.installAsyncState`); any process rings the bells and adds to the counters
/// (relaxed atomics).
public struct AsyncSharedState: @unchecked Sendable {
    let raw: UnsafeMutablePointer<cs_async_state>

    init(_ raw: UnsafeMutablePointer<cs_async_state>) { self.raw = raw }

    public static let sectionName = "async"

    /// The counters of cs_async_state.
    public enum Counter: Sendable {
        /// Transactions suspended by async functions.
        case suspended
        /// Resumes that ran a route.
        case resumed
        /// Resumes that found nothing to run (answered, gone, cancelled).
        case resumeMissed
        /// Data and tkv tasks queued.
        case tasksPushed
        /// Calls that returned false (full queue, bad value, ms_queue_max).
        case refused
    }

    public func count(_ counter: Counter) {
        switch counter {
        case .suspended: _ = cs_atomic_add_u64(&raw.pointee.suspended, 1)
        case .resumed: _ = cs_atomic_add_u64(&raw.pointee.resumed, 1)
        case .resumeMissed: _ = cs_atomic_add_u64(&raw.pointee.resume_missed, 1)
        case .tasksPushed: _ = cs_atomic_add_u64(&raw.pointee.tasks_pushed, 1)
        case .refused: _ = cs_atomic_add_u64(&raw.pointee.refused, 1)
        }
    }

    public func value(_ counter: Counter) -> UInt64 {
        switch counter {
        case .suspended: cs_atomic_load_u64(&raw.pointee.suspended)
        case .resumed: cs_atomic_load_u64(&raw.pointee.resumed)
        case .resumeMissed: cs_atomic_load_u64(&raw.pointee.resume_missed)
        case .tasksPushed: cs_atomic_load_u64(&raw.pointee.tasks_pushed)
        case .refused: cs_atomic_load_u64(&raw.pointee.refused)
        }
    }

    /// The doorbell the timer processes of `wheel` sleep on (nil for tm's wheel, whose
    /// bell is the transaction table's).
    func bell(for wheel: TransactionWheel) -> DoorbellRef? {
        switch wheel {
        case .tm: return nil
        case .secondRing: return DoorbellRef(pointer(to: \.ring_bell))
        case .milliseconds: return DoorbellRef(pointer(to: \.ms_bell))
        }
    }

    private func pointer<T>(to field: KeyPath<cs_async_state, T>) -> UnsafeMutablePointer<T> {
        (UnsafeMutableRawPointer(raw) + MemoryLayout<cs_async_state>.offset(of: field)!).assumingMemoryBound(to: T.self)
    }
}

extension ArenaRef {
    /// Creates section "async" (master only, before fork): the second ring ticks every
    /// `ringTickMs`, the millisecond wheel every `msTickMs` (0: off).
    public func installAsyncState(ringTickMs: Int, msTickMs: Int) throws(ArenaError) -> AsyncSharedState {
        let state = try addSection(AsyncSharedState.sectionName, size: MemoryLayout<cs_async_state>.size,
                                   kind: CS_SECTION_ASYNC).assumingMemoryBound(to: cs_async_state.self)
        cs_async_init(state, UInt32(clamping: ringTickMs), UInt32(clamping: msTickMs))
        return AsyncSharedState(state)
    }
}
