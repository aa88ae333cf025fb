import CShared

/// The sections a server (or a benchmark or test helper) puts in the arena before it
/// forks: the process table (with one allocator cache per process slot) and the task
/// queues.
public struct ArenaLayout: Sendable {
    /// One task group's queue.
    public struct Queue: Sendable {
        public var name: String
        public var maxDepth: Int
        public var workers: Int
        public var nonblocking: Bool
        public var usleepMicroseconds: UInt32

        public init(name: String, maxDepth: Int = 65536, workers: Int = 1, nonblocking: Bool = false, usleepMicroseconds: UInt32 = 0) {
            self.name = name
            self.maxDepth = maxDepth
            self.workers = workers
            self.nonblocking = nonblocking
            self.usleepMicroseconds = usleepMicroseconds
        }
    }

    public var processCapacity: Int
    public var queues: [Queue]

    public init(processCapacity: Int = 64, queues: [Queue] = []) {
        self.processCapacity = processCapacity
        self.queues = queues
    }

    public static let processTableSection = "proctable"
    public static let queuesSection = "queues"
}

/// The standard sections of an arena, found by name.
public struct ArenaSections: @unchecked Sendable {
    public let arena: ArenaRef
    public let processes: ProcessTableRef
    public let queueDirectory: UnsafeMutablePointer<cs_queue_dir>

    /// All queues, in creation order.
    public var queues: [TaskQueueRef] {
        let count = Int(queueDirectory.pointee.count)
        let first = (UnsafeMutableRawPointer(queueDirectory) + MemoryLayout<cs_queue_dir>.size)
            .assumingMemoryBound(to: cs_task_queue.self)
        return (0..<count).map { TaskQueueRef(first + $0) }
    }

    public func queue(named name: String) -> TaskQueueRef? {
        cs_queue_find(queueDirectory, name).map(TaskQueueRef.init)
    }
}

extension ArenaRef {
    /// Creates the layout's sections (creator only, before fork).
    public func install(_ layout: ArenaLayout) throws(ArenaError) -> ArenaSections {
        guard layout.processCapacity > 0, layout.queues.count <= 64 else {
            throw .invalidLayout("process capacity must be positive and at most 64 queues")
        }
        let table = try addSection(ArenaLayout.processTableSection,
                                   size: Int(cs_proc_table_bytes(UInt32(layout.processCapacity))),
                                   kind: CS_SECTION_PROCTABLE)
        cs_proc_table_init(table.assumingMemoryBound(to: cs_proc_table.self), UInt32(layout.processCapacity))
        if cs_alloc_caches_init(header, UInt32(layout.processCapacity)) != 0 {
            throw .outOfMemory(requested: layout.processCapacity * MemoryLayout<cs_alloc_cache>.size)
        }

        let capacity = max(layout.queues.count, 1)
        let dir = try addSection(ArenaLayout.queuesSection, size: Int(cs_queue_dir_bytes(UInt32(capacity))),
                                 kind: CS_SECTION_QUEUES).assumingMemoryBound(to: cs_queue_dir.self)
        cs_queue_dir_init(dir, UInt32(capacity))
        for q in layout.queues {
            guard q.maxDepth > 0, q.name.utf8.count < CS_QUEUE_NAME_MAX,
                  cs_queue_add(dir, q.name, UInt64(q.maxDepth), UInt32(q.workers), q.nonblocking ? 1 : 0, q.usleepMicroseconds) != nil
            else { throw .invalidLayout("queue '\(q.name)': empty depth or name too long") }
        }
        return try sections()
    }

    /// Finds the standard sections (any process that has the arena mapped writable).
    public func sections() throws(ArenaError) -> ArenaSections {
        guard let table = section(ArenaLayout.processTableSection) else { throw .missingSection(ArenaLayout.processTableSection) }
        guard let dir = section(ArenaLayout.queuesSection) else { throw .missingSection(ArenaLayout.queuesSection) }
        return ArenaSections(arena: self,
                             processes: ProcessTableRef(table.assumingMemoryBound(to: cs_proc_table.self)),
                             queueDirectory: dir.assumingMemoryBound(to: cs_queue_dir.self))
    }
}
