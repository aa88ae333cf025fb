import CShared

/// A view of one timing wheel in the arena (section "wheel.<name>"): tm's timers, the
/// async module's second ring and its millisecond timer.
///
/// Owned by the arena; no `deinit`. The master lays the wheel out before it forks
/// (`ArenaRef.installTransactions`); afterwards any server process may arm and disarm
/// links, and the wheel's timer process(es) expire them. Every operation takes the
/// wheel's robust lock (acquire/release ordering); a process killed inside it leaves a
/// wheel that the next locker repairs. The counters are relaxed loads.
///
/// A link (`cs_timer_link`) is embedded in the structure it times and must live in the
/// arena. The wheel holds no reference to that structure: the owner decides what an
/// armed link keeps alive (for transactions, `LockedTransaction.arm`).
public struct TimerWheelRef: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_timer_wheel>

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_timer_wheel>) {
        self.arena = arena
        self.raw = raw
    }

    /// The wheel's name (the part after "wheel." in its section name).
    public var name: String { cString(raw.pointee.name) }
    /// Milliseconds per slot.
    public var tickMs: Int { Int(raw.pointee.tick_ms) }
    /// Slots in one lap (a power of two).
    public var slotCount: Int { Int(raw.pointee.slot_count) }
    /// Links armed now (read without the lock: exact only when the wheel is quiet).
    public var armed: Int { Int(cs_atomic_load_u64(&raw.pointee.armed)) }
    /// Links ever armed (re-arming counts again).
    public var armedTotal: UInt64 { cs_atomic_load_u64(&raw.pointee.armed_total) }
    /// Links ever handed out by `expire`.
    public var firedTotal: UInt64 { cs_atomic_load_u64(&raw.pointee.fired_total) }

    /// Arms `link` (in the arena) to fire at `dueMs` (monotonic milliseconds, see
    /// `TimerWheelRef.nowMs`), with `kind` telling the firing code what the link
    /// belongs to. A due time in the past fires at the next `expire`. Returns true when
    /// the link was already armed and has been moved, false when it was newly armed.
    @discardableResult
    public func arm(_ link: UnsafeMutablePointer<cs_timer_link>, dueMs: UInt64, kind: UInt32) -> Bool {
        cs_wheel_arm(arena.header, raw, link, dueMs, kind) == 1
    }

    /// Disarms `link`. True when it was armed (it will not fire now); false when it was
    /// not armed or `expire` already handed it out.
    @discardableResult
    public func disarm(_ link: UnsafeMutablePointer<cs_timer_link>) -> Bool {
        cs_wheel_disarm(arena.header, raw, link) == 1
    }

    /// Unlinks the links due at or before `nowMs`, in tick order, and writes their
    /// offsets (from the arena start) to the front of `buffer`; at most `buffer.count`
    /// of them, so size the buffer first. Returns how many were written. When it
    /// returns `buffer.count`, call it again: more may be due (a slot cut short is
    /// finished by the next call). One call walks at most one lap of slots, so a long
    /// pause costs one lap.
    public func expire(nowMs: UInt64, into buffer: inout [UInt64]) -> Int {
        let capacity = UInt32(clamping: buffer.count)
        guard capacity > 0 else { return 0 }
        return buffer.withUnsafeMutableBufferPointer { out in
            Int(cs_wheel_expire(arena.header, raw, nowMs, out.baseAddress, capacity))
        }
    }

    /// The link at `offset` (as handed out by `expire`).
    public func link(at offset: UInt64) -> UnsafeMutablePointer<cs_timer_link> {
        (arena.base + Int(offset)).assumingMemoryBound(to: cs_timer_link.self)
    }

    /// The earliest due time among armed links, or nil when none. Walks the whole wheel
    /// without the lock (validating every offset): for tools and tests, not hot paths.
    public var nextDueMs: UInt64? {
        let due = cs_wheel_next_due(arena.base, UInt64(arena.size), raw)
        return due == 0 ? nil : due
    }

    /// Monotonic milliseconds (CLOCK_MONOTONIC: system-wide, so every process and
    /// respite-shm agree on it).
    public static var nowMs: UInt64 { cs_now_ms() }
}
