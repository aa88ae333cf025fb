import CShared

/// A view of a mapped arena: allocation, statistics and the section directory.
///
/// Copyable and without `deinit`: the `Arena` owner (or, in a forked child, the
/// inherited mapping) keeps the memory alive. Allocation is safe from every process at
/// once (the allocator takes its robust lock).
public struct ArenaRef: @unchecked Sendable {
    public let header: UnsafeMutablePointer<cs_arena_header>

    public init(_ header: UnsafeMutablePointer<cs_arena_header>) {
        self.header = header
    }

    public var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(header) }
    public var size: Int { Int(header.pointee.size) }
    public var creatorPID: Int32 { header.pointee.creator_pid }
    /// The creating process: pid and start time.
    public var creator: ArenaCreator {
        let ticks = header.pointee.creator_start_ticks
        return ArenaCreator(pid: header.pointee.creator_pid, startTicks: ticks == 0 ? nil : ticks)
    }
    public var isDebug: Bool { header.pointee.flags & UInt32(CS_ARENA_DEBUG) != 0 }

    /// `size` bytes, 16-byte aligned, or nil when the arena has no room.
    @inline(__always)
    public func allocate(_ size: Int, file: StaticString = #fileID, line: UInt = #line) -> UnsafeMutableRawPointer? {
        if isDebug {
            return file.withUTF8Buffer { utf8 in
                // StaticString is NUL-terminated in its storage.
                utf8.withMemoryRebound(to: CChar.self) { cs_alloc_at(header, size, $0.baseAddress, UInt32(line)) }
            }
        }
        return cs_alloc(header, size)
    }

    /// Like `allocate`, but throws `ArenaError.outOfMemory`.
    public func allocateOrThrow(_ size: Int, file: StaticString = #fileID, line: UInt = #line) throws(ArenaError) -> UnsafeMutableRawPointer {
        guard let p = allocate(size, file: file, line: line) else { throw .outOfMemory(requested: size) }
        return p
    }

    @inline(__always)
    public func free(_ pointer: UnsafeMutableRawPointer?) {
        cs_free(header, pointer)
    }

    /// Exact counters, taken under the allocator lock.
    public var counters: cs_alloc_counters {
        var c = cs_alloc_counters()
        cs_alloc_counters_get(header, &c)
        return c
    }

    /// Walks every block under the lock: fragmentation, largest free block, fences.
    public func check() -> cs_alloc_report {
        var report = cs_alloc_report()
        _ = cs_alloc_check(header, &report)
        return report
    }

    /// A zeroed 64-byte task for a queue, or nil when the arena is full.
    @inline(__always)
    public func newTask() -> UnsafeMutablePointer<cs_task>? { cs_task_new(header) }

    /// Returns a task taken from a queue (or never pushed) to the arena.
    @inline(__always)
    public func freeTask(_ task: UnsafeMutablePointer<cs_task>) { cs_task_free(header, task) }

    /// Gives the calling process the allocator cache of its process-table slot: small
    /// allocations then need no atomic operation. Call in the child after fork; the
    /// cache is handed back when the child leaves through `Fork.child`.
    public func attachAllocatorCache(slot: Int32) {
        _ = cs_alloc_cache_attach(header, UInt32(bitPattern: slot))
    }

    /// Recovers the cache of a slot whose process died (master, after reaping it).
    @discardableResult
    public func reclaimAllocatorCache(slot: Int32) -> UInt64 {
        cs_alloc_cache_reclaim(header, UInt32(bitPattern: slot))
    }

    /// Adds a named section (creator only, before fork).
    public func addSection(_ name: String, size: Int, kind: cs_section_kind, version: UInt32 = 1) throws(ArenaError) -> UnsafeMutableRawPointer {
        guard let p = cs_arena_add_section(header, name, UInt64(size), kind.rawValue, version) else {
            throw .outOfMemory(requested: size)
        }
        return p
    }

    /// The address of a section, or nil.
    public func section(_ name: String) -> UnsafeMutableRawPointer? {
        guard let s = cs_arena_find_section(header, name) else { return nil }
        return base + Int(s.pointee.offset)
    }

    /// Marks the layout complete (creator only, before fork).
    public func setReady() { cs_arena_set_ready(header) }

    /// Offset of a pointer into the arena.
    public func offset(of pointer: UnsafeRawPointer) -> UInt64 {
        UInt64(UInt(bitPattern: pointer - UnsafeRawPointer(base)))
    }
}
