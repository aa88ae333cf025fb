import CShared
import Shared

/// The async module in one process: its settings, wheels, queues and shared counters.
final class AsyncState {
    let config: AsyncConfig
    let arena: ArenaRef
    let shared: UnsafeMutablePointer<cs_async_state>
    /// The second ring ("wheel.async") and the millisecond wheel ("wheel.asyncms").
    let ring: TimerWheelRef?
    let ms: TimerWheelRef?
    let queues: [String: TaskQueueRef]
    /// In an `Async Task Worker - <group>`: its group (`$async(gname)`).
    var workerGroup: String?

    static let sectionName = "async"
    /// The numbers cs_tx.async_wait_wheel records for the two wheels.
    static let ringWheelNumber: UInt32 = 1
    static let msWheelNumber: UInt32 = 2

    func wheel(number: UInt32) -> TimerWheelRef? {
        switch number {
        case Self.ringWheelNumber: return ring
        case Self.msWheelNumber: return ms
        default: return nil
        }
    }
    static let ringWheel = (name: "async", tickMs: 100, slots: 2048)   // a lap of 204.8 s > 100 s
    static let msWheelName = "asyncms"

    /// The ms wheel's shape for a resolution: enough slots for 30 s (the longest sleep).
    static func msWheel(tickMs: Int) -> (name: String, tickMs: Int, slots: Int) {
        var slots = 1
        while slots * tickMs < 32_768 { slots <<= 1 }
        return (msWheelName, tickMs, slots)
    }

    init(config: AsyncConfig, arena: ArenaRef, shared: UnsafeMutablePointer<cs_async_state>,
         transactions: TransactionSections?, sections: ArenaSections) {
        self.config = config
        self.arena = arena
        self.shared = shared
        self.ring = transactions?.wheel(named: Self.ringWheel.name)
        self.ms = transactions?.wheel(named: Self.msWheelName)
        var queues: [String: TaskQueueRef] = [:]
        for q in sections.queues { queues[q.name] = q }
        self.queues = queues
    }

    /// The doorbells the timer processes sleep on (addresses inside the arena).
    var ringBell: UnsafeMutablePointer<cs_doorbell> {
        (UnsafeMutableRawPointer(shared) + MemoryLayout<cs_async_state>.offset(of: \cs_async_state.ring_bell)!)
            .assumingMemoryBound(to: cs_doorbell.self)
    }

    var msBell: UnsafeMutablePointer<cs_doorbell> {
        (UnsafeMutableRawPointer(shared) + MemoryLayout<cs_async_state>.offset(of: \cs_async_state.ms_bell)!)
            .assumingMemoryBound(to: cs_doorbell.self)
    }

    enum Counter { case suspended, resumed, resumeMissed, tasksPushed, refused }

    func count(_ counter: Counter) {
        switch counter {
        case .suspended: _ = cs_atomic_add_u64(&shared.pointee.suspended, 1)
        case .resumed: _ = cs_atomic_add_u64(&shared.pointee.resumed, 1)
        case .resumeMissed: _ = cs_atomic_add_u64(&shared.pointee.resume_missed, 1)
        case .tasksPushed: _ = cs_atomic_add_u64(&shared.pointee.tasks_pushed, 1)
        case .refused: _ = cs_atomic_add_u64(&shared.pointee.refused, 1)
        }
    }
}

/// Task kinds in the queues.
enum AsyncTaskKind: UInt32 {
    /// Resume a suspended transaction: words (index, label).
    case resume = 1
    /// Run a route on the faked request with `$async(data)`: words (route, data offset, length).
    case data = 2
    /// Raise the tkv event route: words (type, block offset, block length); the block holds
    /// the key length (4 bytes), the key, then the value.
    case tkv = 3
}
