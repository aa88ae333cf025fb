import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

let stopKind: UInt32 = 0xDEAD

/// P producers and C consumers move N tasks through one queue; every task must arrive
/// exactly once, and the pool and allocator must be back where they started.
func queueStress(_ options: Options) throws {
    let producers = options.int("producers", 2), consumers = options.int("consumers", 2)
    let tasks = options.int("tasks", 100_000), depth = options.int("depth", 1024)
    let arena = try makeArena(options, queues: [.init(name: "stress", maxDepth: depth, workers: consumers)])
    defer { try? arena.unlink() }
    let ref = arena.ref
    let sections = try ref.sections()
    let queue = sections.queues[0]
    let before = ref.counters
    // One delivery counter per task, in the arena so that every consumer can mark it.
    let seen = try ref.allocateOrThrow(tasks * 4).bindMemory(to: UInt32.self, capacity: tasks)
    seen.initialize(repeating: 0, count: tasks)

    let start = cs_now_ns()
    var pids: [pid_t] = []
    for c in 0..<consumers {
        pids.append(try Fork.child {
            ref.attachAllocatorCache(slot: Int32(c))
            var got: UInt64 = 0
            while true {
                guard let t = queue.take(timeoutNanoseconds: 5_000_000_000) else {
                    Posix.printError("consumer \(c): no task for 5 s\n")
                    return 2
                }
                if t.pointee.kind == stopKind {
                    ref.freeTask(t)
                    return 0
                }
                let id = Int(t.pointee.words.0)
                if id >= 0 && id < tasks { _ = cs_atomic_add_u32(seen + id, 1) }
                ref.freeTask(t)
                got += 1
            }
        })
    }
    var producerPIDs: [pid_t] = []
    for p in 0..<producers {
        producerPIDs.append(try Fork.child {
            ref.attachAllocatorCache(slot: Int32(consumers + p))
            var id = p
            while id < tasks {
                guard let t = ref.newTask() else { return 3 }
                t.pointee.kind = 1
                t.pointee.words.0 = UInt64(id)
                _ = queue.push(t, nonblocking: false)
                id += producers
            }
            return 0
        })
    }
    var failures = 0
    for pid in producerPIDs where Fork.wait(pid) != .exited(0) { failures += 1 }
    for _ in 0..<consumers {
        guard let t = ref.newTask() else { throw ArenaError.outOfMemory(requested: 64) }
        t.pointee.kind = stopKind
        _ = queue.push(t, nonblocking: false)
    }
    for pid in pids where Fork.wait(pid) != .exited(0) { failures += 1 }
    let seconds = Double(cs_now_ns() - start) / 1e9

    var missing = 0, duplicates = 0
    for i in 0..<tasks {
        let n = cs_atomic_load_u32(seen + i)
        if n == 0 { missing += 1 } else if n > 1 { duplicates += 1 }
    }
    ref.free(UnsafeMutableRawPointer(seen))
    let after = ref.counters
    let stats = queue.stats
    report(["tasks": tasks, "missing": missing, "duplicates": duplicates, "failed_processes": failures,
            "pushed": stats.pushed, "taken": stats.taken, "depth": stats.depth,
            "used_before": before.used_bytes, "used_after": after.used_bytes,
            "live_before": before.live_allocs, "live_after": after.live_allocs,
            "tasks_per_s": Int(Double(tasks) / seconds)])
}

/// A child takes a lock and is killed with SIGKILL while holding it; the parent must
/// still get the lock (recovered), and a further child must get it cleanly.
func lockKill(_ options: Options) throws {
    let arena = try makeArena(options, queues: [])
    defer { try? arena.unlink() }
    let ref = arena.ref
    let lockMemory = try ref.allocateOrThrow(MemoryLayout<cs_lock>.size + 8)
    let lock = SharedLockRef(lockMemory.bindMemory(to: cs_lock.self, capacity: 1))
    try lock.initialize()
    let flag = (lockMemory + MemoryLayout<cs_lock>.size).bindMemory(to: UInt32.self, capacity: 1)
    flag.pointee = 0

    let holder = try Fork.child {
        lock.lock()
        cs_atomic_store_u32(flag, 1)
        while true { pause() }
    }
    awaitFlag(flag)
    let holderPID = lock.holderPID
    kill(holder, SIGKILL)
    let exit = Fork.wait(holder)

    let first = lock.lock()
    lock.unlock()
    let second = try Fork.child {
        lock.lock() == .clean ? 0 : 1
    }
    let secondExit = Fork.wait(second)
    report(["holder_was": holderPID == holder ? "child" : "other", "holder_exit": exit == .signaled(SIGKILL) ? "sigkill" : "\(exit)",
            "parent_lock": first == .recovered ? "recovered" : "clean",
            "next_lock": secondExit == .exited(0) ? "clean" : "bad", "recoveries": lock.recoveries])
}

/// P processes allocate and free blocks of random sizes at once; afterwards the
/// allocator's statistics must be back at their start value and the heap walk clean.
func allocChurn(_ options: Options) throws {
    let procs = options.int("procs", 2), iterations = options.int("iterations", 100_000)
    let arena = try makeArena(options, queues: [], size: 32 << 20)
    defer { try? arena.unlink() }
    let ref = arena.ref
    let before = ref.counters
    var pids: [pid_t] = []
    for p in 0..<procs {
        pids.append(try Fork.child {
            var rng = UInt64(0x9E3779B97F4A7C15) &* UInt64(p + 1)
            var live = [UnsafeMutableRawPointer?](repeating: nil, count: 256)
            var failed = 0
            for _ in 0..<iterations {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                let slot = Int(rng % 256)
                if let old = live[slot] {
                    ref.free(old)
                    live[slot] = nil
                } else {
                    let size = Int((rng >> 8) % 4000) + 1
                    guard let m = ref.allocate(size) else { failed += 1; continue }
                    m.storeBytes(of: UInt8(truncatingIfNeeded: slot), as: UInt8.self)
                    live[slot] = m
                }
            }
            for case let m? in live { ref.free(m) }
            return failed == 0 ? 0 : 4
        })
    }
    var failures = 0
    for pid in pids where Fork.wait(pid) != .exited(0) { failures += 1 }
    let after = ref.counters
    let walk = ref.check()
    report(["failed_processes": failures, "used_before": before.used_bytes, "used_after": after.used_bytes,
            "live_before": before.live_allocs, "live_after": after.live_allocs,
            "free_blocks_before": before.free_blocks, "free_blocks_after": after.free_blocks,
            "allocs": after.total_allocs - before.total_allocs, "walk_error": walk.error_offset,
            "fence_errors": walk.fence_errors])
}

/// A child fills its allocator cache and is killed with SIGKILL: its blocks are lost to
/// everyone until the master reclaims the cache, which brings the arena back to baseline.
func cacheReclaim(_ options: Options) throws {
    let arena = try makeArena(options, queues: [])
    defer { try? arena.unlink() }
    let ref = arena.ref
    let before = ref.counters
    let flag = try ref.allocateOrThrow(8).bindMemory(to: UInt64.self, capacity: 1)
    flag.pointee = 0
    let child = try Fork.child {
        ref.attachAllocatorCache(slot: 3)
        var blocks: [UnsafeMutableRawPointer] = []
        for i in 0..<40 { if let p = ref.allocate(16 * (i % 4 + 1)) { blocks.append(p) } }
        for p in blocks { ref.free(p) } // up to 16 per size class stay in the cache
        cs_atomic_store_u64(flag, 1)
        while true { pause() }
    }
    while cs_atomic_load_u64(flag) == 0 { usleep(1000) }
    var cachedBlocks: UInt64 = 0, cachedBytes: UInt64 = 0
    _ = cs_alloc_cached(ref.base, UInt64(ref.size), &cachedBlocks, &cachedBytes)
    kill(child, SIGKILL)
    _ = Fork.wait(child)
    let stranded = ref.counters
    let reclaimed = ref.reclaimAllocatorCache(slot: 3)
    ref.free(UnsafeMutableRawPointer(flag))
    let after = ref.counters
    report(["cached_blocks": cachedBlocks, "reclaimed": reclaimed,
            "stranded_live": stranded.live_allocs - before.live_allocs - 1,
            "used_before": before.used_bytes, "used_after": after.used_bytes,
            "live_before": before.live_allocs, "live_after": after.live_allocs])
}

/// Creates an arena with some content and waits to be killed; the test then reads the
/// arena of a dead creator with respite-shm. The arena is *not* unlinked.
func hold(_ options: Options) throws {
    let arena = try makeArena(options, queues: [.init(name: "default", maxDepth: 100, workers: 2),
                                                 .init(name: "tkv", maxDepth: 50, workers: 1, nonblocking: true)])
    let ref = arena.ref
    let sections = try ref.sections()
    if let slot = sections.processes.claim(role: .main, rank: 0, description: "main process - attendant") {
        sections.processes.started(slot: slot, pid: getpid())
        sections.processes.add(slot: slot, .requests, 42)
    }
    for _ in 0..<3 {
        if let t = ref.newTask() { _ = sections.queues[0].push(t, nonblocking: true) }
    }
    _ = ref.allocate(1000)
    report(["ready": 1, "name": arena.name])
    while true { pause() }
}

/// Waits (up to 5 s) until a child sets `flag` in the arena: it holds what it was told to.
func awaitFlag(_ flag: UnsafeMutablePointer<UInt32>) {
    var waited = 0
    while cs_atomic_load_u32(flag) == 0 && waited < 5000 {
        usleep(1000)
        waited += 1
    }
}
