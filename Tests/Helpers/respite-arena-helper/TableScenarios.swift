import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A fresh arena with the standard layout plus shared variables and hash tables, made
/// the way the server's master will make it: everything before `setReady` and fork.
func makeTablesArena(_ options: Options, shvset: [String], htables: [String]) throws -> Arena {
    let name = options.string("shm-name", "/respite-test-\(getpid())")
    let arena = try Arena.create(name: name, size: 16 << 20)
    _ = try arena.ref.install(ArenaLayout(processCapacity: 16, queues: [.init(name: "default", maxDepth: 10)]))
    _ = try arena.ref.installTables(shv: ["count"], shvset: try shvset.map(ShvsetSpec.parse),
                                             htables: try HashTableSpec.parseAll(htables))
    arena.ref.setReady()
    return arena
}

/// P processes each add 1 to the same `$sht` key N times with `$shtinc`, and N/10 times
/// to another key with sht_lock + read + write + sht_unlock; both totals must be exact.
func shtIncrement(_ options: Options) throws {
    let procs = options.int("procs", 4), count = options.int("count", 100_000)
    let arena = try makeTablesArena(options, shvset: [], htables: ["c=>size=2"])
    let tables = try arena.ref.sharedTables()
    defer { try? arena.unlink() }
    let table = try tables.hashTables.table(named: "c").orThrow("no table c")
    let locked = count / 10
    let start = cs_now_ns()
    var pids: [pid_t] = []
    for p in 0..<procs {
        pids.append(try Fork.child {
            arena.ref.attachAllocatorCache(slot: Int32(p))
            for i in 0..<count {
                guard table.increment("hits") != nil else { return 2 }
                if i % 10 == 0 {
                    // Read-modify-write under sht_lock: the set nests inside the lock.
                    table.lock("locked")
                    let now: Int
                    if case .int(let v) = table.get("locked") { now = v } else { now = 0 }
                    let ok = table.set("locked", .int(now + 1))
                    table.unlock("locked")
                    guard ok else { return 3 }
                }
            }
            return 0
        })
    }
    var failures = 0
    for pid in pids where Fork.wait(pid) != .exited(0) { failures += 1 }
    let seconds = Double(cs_now_ns() - start) / 1e9
    report(["failed_processes": failures, "hits": table.get("hits"), "expected_hits": procs * count,
            "locked": table.get("locked"), "expected_locked": procs * locked, "items": table.count,
            "increments_per_s": Int(Double(procs * count) / seconds)])
}

/// A child takes sht_lock on a key, sets it, and is killed with SIGKILL while holding the
/// lock. A second child already waiting for the key must get through; the parent and a
/// further child then lock the key cleanly and the value set before the kill is there.
func shtLockKill(_ options: Options) throws {
    let arena = try makeTablesArena(options, shvset: [], htables: ["t=>size=2"])
    let tables = try arena.ref.sharedTables()
    defer { try? arena.unlink() }
    let table = try tables.hashTables.table(named: "t").orThrow("no table t")
    let flag = try arena.ref.allocateOrThrow(8).bindMemory(to: UInt32.self, capacity: 1)
    flag.pointee = 0
    let holder = try Fork.child {
        table.lock("k")
        _ = table.set("k", .int(1))
        table.lock("k") // held twice when it dies
        cs_atomic_store_u32(flag, 1)
        while true { pause() }
    }
    awaitFlag(flag)
    let bucket = (arena.ref.base + Int(table.raw.pointee.buckets_offset)).assumingMemoryBound(to: cs_htable_bucket.self)
        + Int(cs_htable_hash("k", 1)) & (table.bucketCount - 1)
    let holderPID = bucket.pointee.lock.holder_pid
    // The waiter blocks inside $shtinc until the holder is gone.
    let waiter = try Fork.child { table.increment("k") == 2 ? 0 : 1 }
    usleep(100_000)
    kill(holder, SIGKILL)
    let holderExit = Fork.wait(holder)
    let waiterExit = Fork.wait(waiter)

    let parentLock = table.lock("k")
    let value = table.get("k")
    _ = table.set("k", .int(10))
    table.unlock("k")
    let next = try Fork.child {
        guard table.lock("k") == .clean else { return 1 }
        defer { table.unlock("k") }
        return table.increment("k") == 11 ? 0 : 2
    }
    let nextExit = Fork.wait(next)
    report(["holder_was": holderPID == holder ? "child" : "other(\(holderPID))",
            "holder_exit": holderExit == .signaled(SIGKILL) ? "sigkill" : "\(holderExit)",
            "waiter": waiterExit == .exited(0) ? "through" : "\(waiterExit)",
            "parent_lock": parentLock == .recovered ? "recovered" : "clean", "value_after_kill": value,
            "next_lock": nextExit == .exited(0) ? "clean" : "\(nextExit)", "final": table.get("k"),
            "recoveries": bucket.pointee.lock.recoveries, "depth": bucket.pointee.depth, "items": table.count])
}

/// Like `hold`, with shared variables and hash tables in the arena; waits to be killed.
func holdTables(_ options: Options) throws {
    let arena = try makeTablesArena(
        options, shvset: ["debug=i:3", "gw=s:sip:gw.example.com"],
        htables: ["calls=>size=4;autoexpire=3600;initval=0", "ipban=>size=2", "empty"])
    let tables = try arena.ref.sharedTables()
    let calls = try tables.hashTables.table(named: "calls").orThrow("no table calls")
    _ = tables.variables.set(0, .int(42))
    _ = calls.set("alice", .string("busy"))
    _ = calls.increment("bob", by: 7)
    let ipban = try tables.hashTables.table(named: "ipban").orThrow("no table ipban")
    for i in 0..<30 { _ = ipban.set("10.0.0.\(i)", .int(i)) }
    report(["ready": 1, "name": arena.name])
    while true { pause() }
}

extension Optional {
    func orThrow(_ why: String) throws -> Wrapped {
        guard let v = self else { throw ArenaError.invalidLayout(why) }
        return v
    }
}
