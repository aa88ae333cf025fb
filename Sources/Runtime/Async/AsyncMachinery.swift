import Shared

/// The async module and the core task groups in one process: their settings, the task
/// queues, the shared counters and doorbells.
final class AsyncMachinery {
    let config: AsyncConfig
    let arena: ArenaRef
    let shared: AsyncSharedState
    let queues: [String: TaskQueueRef]
    /// In an `Async Task Worker - <group>`: its group (`$async(gname)`).
    var workerGroup: String?

    init(config: AsyncConfig, arena: ArenaRef, shared: AsyncSharedState, queues: [TaskQueueRef]) {
        self.config = config
        self.arena = arena
        self.shared = shared
        var byName: [String: TaskQueueRef] = [:]
        for q in queues { byName[q.name] = q }
        self.queues = byName
    }

    func count(_ counter: AsyncSharedState.Counter) { shared.count(counter) }
}
