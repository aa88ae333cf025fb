import CShared

/// A view of a group's task queue in the arena (FIFO, bounded, multi-producer,
/// multi-consumer). Producers never take a lock; consumers share a robust lock around
/// the dequeue and sleep on a futex doorbell when the queue is empty.
public struct TaskQueueRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_task_queue>

    public init(_ raw: UnsafeMutablePointer<cs_task_queue>) { self.raw = raw }

    public enum PushResult: Equatable { case queued, full }

    public var name: String {
        withUnsafeBytes(of: raw.pointee.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    /// The queue's place in the queue directory (what a suspended transaction records as
    /// the group that will resume it).
    public var index: Int { Int(raw.pointee.index) }
    public var workers: Int { Int(raw.pointee.workers) }
    public var nonblocking: Bool { raw.pointee.nonblock != 0 }
    public var usleepMicroseconds: UInt32 { raw.pointee.usleep_us }
    public var maxDepth: Int { Int(raw.pointee.max_depth) }

    /// Queues a task. With `nonblocking` a full queue answers `.full` at once and the
    /// caller keeps the task; otherwise it waits for room.
    @inline(__always)
    public func push(_ task: UnsafeMutablePointer<cs_task>, nonblocking: Bool) -> PushResult {
        cs_queue_push(raw, task, nonblocking ? 1 : 0) == Int32(CS_QUEUE_OK) ? .queued : .full
    }

    /// The oldest task, or nil when empty. Never sleeps.
    @inline(__always)
    public func tryTake() -> UnsafeMutablePointer<cs_task>? { cs_queue_try_take(raw) }

    /// The oldest task, sleeping while the queue is empty for at most `timeoutNanoseconds`
    /// (negative: no limit). nil on timeout or a signal.
    @inline(__always)
    public func take(timeoutNanoseconds: Int64 = -1) -> UnsafeMutablePointer<cs_task>? {
        cs_queue_take(raw, timeoutNanoseconds)
    }

    public func wakeAll() { cs_queue_wake_all(raw) }

    public var stats: cs_queue_stats {
        var s = cs_queue_stats()
        cs_queue_stats_get(raw, &s)
        return s
    }
}
