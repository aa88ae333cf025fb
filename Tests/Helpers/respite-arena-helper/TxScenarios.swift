import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A fresh arena with the standard layout, a transaction table and the wheels asked
/// for, made the way the server's master makes it: everything before `setReady` and fork.
func makeTxArena(_ options: Options, buckets: Int, wheels: [(name: String, tickMs: Int, slots: Int)],
                 size: Int = 32 << 20) throws -> Arena {
    let name = options.string("shm-name", "/respite-test-\(getpid())")
    let arena = try Arena.create(name: name, size: size)
    _ = try arena.ref.install(ArenaLayout(processCapacity: 16, queues: [.init(name: "default", maxDepth: 10)]))
    _ = try arena.ref.installTransactions(buckets: buckets, wheels: wheels)
    arena.ref.setReady()
    return arena
}

/// 64-bit FNV-1a: the same in every process.
func fnv64(_ bytes: [UInt8]) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}

/// A request and its key for transaction number `n`, as a receiver would hand them over.
func txRequest(_ n: Int, method: String = "INVITE") -> (key: [UInt8], request: [UInt8], callID: Range<Int>) {
    let head = "\(method) sip:user\(n)@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK\(n)\r\nCall-ID: "
    let callID = "c\(n)@10.0.0.1"
    let request = Array((head + callID + "\r\nCSeq: 1 \(method)\r\nContent-Length: 0\r\n\r\n").utf8)
    let start = head.utf8.count
    return (Array("z9hG4bK\(n)|\(method)".utf8), request, start..<(start + callID.utf8.count))
}

/// P processes find-or-create the same K keys at the same time (each in its own order
/// rotation, so they collide everywhere). Exactly K transactions must be created, and
/// every process must have been given the same (index, label) for a key.
func txCreateRace(_ options: Options) throws {
    let procs = options.int("procs", 4), keys = options.int("keys", 1000)
    let arena = try makeTxArena(options, buckets: options.int("buckets", 64), wheels: [])
    let sections = try arena.ref.transactionSections()
    defer { try? arena.unlink() }
    let table = sections.table(asyncState: nil, onRecoveredLock: { _ in })
    let baseline = arena.ref.counters.live_allocs
    // names[p * keys + k] = index << 32 | label, as process p saw it; created[p] counts.
    let names = try arena.ref.allocateOrThrow(procs * keys * 8).bindMemory(to: UInt64.self, capacity: procs * keys)
    names.initialize(repeating: 0, count: procs * keys)
    let createdBy = try arena.ref.allocateOrThrow(procs * 8).bindMemory(to: UInt64.self, capacity: procs)
    createdBy.initialize(repeating: 0, count: procs)
    let go = try arena.ref.allocateOrThrow(8).bindMemory(to: UInt32.self, capacity: 1)
    go.pointee = 0
    var pids: [pid_t] = []
    for p in 0..<procs {
        pids.append(try Fork.child {
            arena.ref.attachAllocatorCache(slot: Int32(p))
            let inputs = (0..<keys).map { txRequest($0) }
            while cs_atomic_load_u32(go) == 0 { sched_yield() }
            for i in 0..<keys {
                let k = (i + p * keys / procs) % keys
                let input = inputs[k]
                guard let found = table.findOrCreate(.init(hash: fnv64(input.key), bytes: input.key), request: input.request,
                                                     callIDRange: input.callID, methodLength: 6, initialize: { _ in })
                else { return 2 }
                let id = found.reference.transaction.id
                names[p * keys + k] = UInt64(id.index) << 32 | UInt64(id.label)
                if found.created { _ = cs_atomic_add_u64(createdBy + p, 1) }
            }
            return 0
        })
    }
    cs_atomic_store_u32(go, 1)
    var failures = 0
    for pid in pids where Fork.wait(pid) != .exited(0) { failures += 1 }

    var mismatches = 0, missing = 0
    for k in 0..<keys {
        let input = txRequest(k)
        guard let found = table.lookup(.init(hash: fnv64(input.key), bytes: input.key)) else {
            missing += 1
            continue
        }
        let tx = found.transaction
        let name = UInt64(tx.id.index) << 32 | UInt64(tx.id.label)
        for p in 0..<procs where names[p * keys + k] != name { mismatches += 1 }
        if tx.request != input.request { mismatches += 1 }
    }
    let createdSum = (0..<procs).reduce(UInt64(0)) { $0 + createdBy[$1] }
    let created = table.created, live = table.live
    // Tear down: every transaction unlinked and released leaves the allocator as it was.
    for k in 0..<keys {
        let input = txRequest(k)
        table.lookup(.init(hash: fnv64(input.key), bytes: input.key))?.transaction.withLock { $0.finish() }
    }
    let leaked = Int64(arena.ref.counters.live_allocs) - Int64(baseline) - 3 // names, createdBy, go
    report(["failed_processes": failures, "created": created, "created_by_processes": createdSum, "live": live,
            "missing": missing, "mismatches": mismatches, "live_after": table.live, "leaked_blocks": leaked])
}

/// P processes arm (and partly re-arm) their share of N links in one wheel while another
/// process expires it; every link must fire exactly once.
func wheelFire(_ options: Options) throws {
    let procs = options.int("procs", 3), count = options.int("links", 3000)
    let arena = try makeTxArena(options, buckets: 16, wheels: [(name: "w", tickMs: 2, slots: 64)])
    let sections = try arena.ref.transactionSections()
    defer { try? arena.unlink() }
    let wheel = sections.wheels[0]
    let linkStride = MemoryLayout<cs_timer_link>.stride
    let links = try arena.ref.allocateOrThrow(count * linkStride).bindMemory(to: cs_timer_link.self, capacity: count)
    links.initialize(repeating: cs_timer_link(), count: count)
    let fired = try arena.ref.allocateOrThrow(count * 4).bindMemory(to: UInt32.self, capacity: count)
    fired.initialize(repeating: 0, count: count)
    let linksOffset = arena.ref.offset(of: links)

    let expirer = try Fork.child {
        var buffer = [UInt64](repeating: 0, count: 64)
        let deadline = cs_now_ms() + 20_000
        var seen = 0
        while seen < count && cs_now_ms() < deadline {
            let n = wheel.expire(nowMs: cs_now_ms(), into: &buffer)
            for o in buffer[0..<n] {
                let i = Int(o - linksOffset) / linkStride
                if i >= 0 && i < count { _ = cs_atomic_add_u32(fired + i, 1) }
            }
            seen += n
            if n < buffer.count { usleep(500) }
        }
        return seen == count ? 0 : 2
    }
    var rearmed = 0
    var armers: [pid_t] = []
    for p in 0..<procs {
        let mine = stride(from: p, to: count, by: procs)
        rearmed += mine.filter { $0 % 3 == 0 }.count
        armers.append(try Fork.child {
            var rng = SystemRandomNumberGenerator()
            for i in mine {
                // First far enough ahead that the re-arm below always comes before it fires.
                wheel.arm(links + i, dueMs: cs_now_ms() + 1000 + UInt64.random(in: 0..<200, using: &rng), kind: UInt32(p))
                if i % 3 == 0 {
                    guard wheel.arm(links + i, dueMs: cs_now_ms() + UInt64.random(in: 0..<300, using: &rng), kind: UInt32(p)) else {
                        return 3
                    }
                }
            }
            return 0
        })
    }
    var failures = 0
    for pid in armers where Fork.wait(pid) != .exited(0) { failures += 1 }
    let expirerExit = Fork.wait(expirer)
    let once = (0..<count).filter { fired[$0] == 1 }.count
    let twice = (0..<count).filter { fired[$0] > 1 }.count
    report(["failed_armers": failures, "expirer": expirerExit == .exited(0) ? "done" : "\(expirerExit)",
            "fired_once": once, "fired_twice": twice, "links": count, "armed": wheel.armed,
            "fired_total": wheel.firedTotal, "armed_total": wheel.armedTotal, "expected_armed_total": count + rearmed])
}

/// Like `hold`, with transactions and a wheel in the arena: an INVITE suspended to resume
/// in a route (its final-response timer armed), one suspended by async_sleep (resumes at
/// an action), a replied OPTIONS and a relayed INVITE with two branches. Waits to be killed.
func holdTransactions(_ options: Options) throws {
    let arena = try makeTxArena(options, buckets: 256, wheels: [(name: "tm", tickMs: 100, slots: 256)])
    let table = try arena.ref.transactionSections().table(asyncState: nil, onRecoveredLock: { _ in })
    func make(_ n: Int, _ method: String) throws -> TransactionReference {
        let input = txRequest(n, method: method)
        guard let found = table.findOrCreate(.init(hash: fnv64(input.key), bytes: input.key), request: input.request,
                                             callIDRange: input.callID, methodLength: method.utf8.count,
                                             initialize: { $0.setOrigin(SIPPeer(transport: .udp, address: SocketAddress(ipv4: 0x7F00_0001, port: 5060),
                                                                                socketIndex: 0),
                                                                        isInvite: method == "INVITE") })
        else { throw ArenaError.outOfMemory(requested: input.request.count) }
        return found.take()
    }
    // Suspended to resume in route 3 by task group 1, its final-response timer armed.
    let suspended = try make(1, "INVITE")
    let suspendedID = suspended.transaction.id
    suspended.transaction.withLock { tx in
        tx.uasStatus = 100
        tx.finalResponseTimeoutMs = 30_000
        _ = tx.suspend(target: .route(3), wait: .taskGroup(index: 1), messageFlags: 0, scriptState: [])
    }
    // A due time as well, so the dump shows one (a fixture's edit: the server records a due
    // time only for waits in the async wheels).
    if let txTable = arena.ref.section(TransactionSections.tableSection)?.assumingMemoryBound(to: cs_tx_table.self),
       let raw = cs_tx_lookup_id(arena.ref.header, txTable, suspendedID.index, suspendedID.label) {
        raw.pointee.resume_due_ms = cs_now_ms() + 60_000
        cs_tx_unref(arena.ref.header, txTable, raw)
    }
    // Suspended by async_sleep, resuming at an action. A fixture's edit again: the server
    // would arm its final-response timer too, and the dump's wheel counts leave it out.
    let sleeping = try make(2, "MESSAGE")
    if let txTable = arena.ref.section(TransactionSections.tableSection)?.assumingMemoryBound(to: cs_tx_table.self),
       let raw = cs_tx_lookup_id(arena.ref.header, txTable, sleeping.transaction.id.index, sleeping.transaction.id.label) {
        raw.pointee.flags |= UInt32(CS_TX_SUSPENDED)
        raw.pointee.resume_kind = UInt32(CS_RESUME_ACTION)
        raw.pointee.resume_block = 7
        raw.pointee.resume_action = 2
        cs_tx_count_suspended(txTable, 1)
        cs_tx_unref(arena.ref.header, txTable, raw)
    }
    let replied = try make(3, "OPTIONS")
    replied.transaction.withLock { tx in
        tx.insert(.replied)
        tx.uasStatus = 200
    }
    // Relayed on two branches: the first answered 180, the second retransmitting.
    let relayed = try make(4, "INVITE")
    relayed.transaction.withLock { tx in
        tx.insert(.relayed)
        let request = Array("INVITE sip:x SIP/2.0\r\n\r\n".utf8)
        _ = tx.addBranch(to: SIPPeer(transport: .udp, address: SocketAddress(ipv4: 10 << 24 | 1, port: 5060), socketIndex: 0),
                         request: request, retransmitIntervalMs: 500)
        _ = tx.addBranch(to: SIPPeer(transport: .tcp, address: SocketAddress(ipv4: 192 << 24 | 168 << 16 | 7, port: 5070),
                                     socketIndex: 1, connection: 7),
                         request: request, retransmitIntervalMs: 500)
        tx.branch(0).lastStatus = 180
        tx.branch(0).flags.insert(.provisional)
        tx.arm(.branchRetransmission(1), afterMs: 500)
    }
    for n in 10..<40 { _ = try make(n, "OPTIONS") }
    _ = table.lookup(TransactionID(index: 0, label: 999_999)) // one stale lookup
    // The holder keeps its references until it is killed (the dump counts them).
    held = [Held(suspended), Held(sleeping), Held(replied), Held(relayed)]
    report(["ready": 1, "name": arena.name, "suspended": "\(suspendedID)"])
    while true { pause() }
}

/// A reference the holder keeps for good.
final class Held {
    let reference: TransactionReference
    init(_ reference: consuming TransactionReference) { self.reference = reference }
}

nonisolated(unsafe) var held: [Held] = []

/// A child takes a transaction's lock (through the server's type), marks it replied and is
/// SIGKILLed holding it; the parent then locks it: the table's recovered-lock handler runs
/// once, with the lock held, and the state the dead holder left is there.
func txLockKill(_ options: Options) throws {
    let arena = try makeTxArena(options, buckets: 16, wheels: [(name: "tm", tickMs: 10, slots: 64)])
    defer { try? arena.unlink() }
    nonisolated(unsafe) var recovered: [TransactionID] = []
    let table = try arena.ref.transactionSections().table(asyncState: nil, onRecoveredLock: { recovered.append($0.id) })
    let input = txRequest(1)
    guard let found = table.findOrCreate(.init(hash: fnv64(input.key), bytes: input.key), request: input.request,
                                         callIDRange: input.callID, methodLength: 6, initialize: { _ in }) else {
        throw ArenaError.outOfMemory(requested: input.request.count)
    }
    let reference = found.take()
    let tx = reference.transaction
    let flag = try arena.ref.allocateOrThrow(8).bindMemory(to: UInt32.self, capacity: 1)
    flag.pointee = 0
    let holder = try Fork.child {
        tx.withLock { locked in
            locked.insert(.replied)
            locked.uasStatus = 486
            cs_atomic_store_u32(flag, 1)
            while true { pause() }
        }
    }
    awaitFlag(flag)
    kill(holder, SIGKILL)
    let exit = Fork.wait(holder)
    let seen = tx.withLock { locked in (locked.contains(.replied), locked.uasStatus, recovered.count) }
    let again = tx.withLock { _ in recovered.count }
    report(["holder_exit": exit == .signaled(SIGKILL) ? "sigkill" : "\(exit)", "handler_calls_first": seen.2,
            "handler_calls_after_second": again, "handler_id": recovered.first.map { "\($0)" } ?? "none",
            "tx_id": "\(tx.id)", "replied": seen.0 ? 1 : 0, "status": seen.1])
}

/// Four processes die holding a transaction each, at the points where a process's death
/// used to leave one live for good: killed while creating it (inside `initialize`,
/// locked, before its source is filled in), after creating it and before answering it,
/// after answering it and before arming its removal, and after adding a branch and
/// before arming the branch's timeout. The parent settles each as the master does after
/// reaping, and reports what is armed on each transaction then.
func txSettleKill(_ options: Options) throws {
    let arena = try makeTxArena(options, buckets: 16, wheels: [(name: "tm", tickMs: 10, slots: 64)])
    defer { try? arena.unlink() }
    let flags = try arena.ref.allocateOrThrow(16).bindMemory(to: UInt32.self, capacity: 4)
    for i in 0..<4 { flags[i] = 0 }
    let source = SIPPeer(transport: .udp, address: SocketAddress(ipv4: 0x7F00_0001, port: 5060), socketIndex: 0)
    func key(_ n: Int) -> TransactionTable.Key {
        let input = txRequest(n, method: "MESSAGE")
        return .init(hash: fnv64(input.key), bytes: input.key)
    }
    /// A child in process slot `n` that creates transaction `n`, runs `body` on it, marks
    /// its flag and waits to be killed, holding its reference.
    func child(_ n: Int, initialize: @escaping (borrowing LockedTransaction) -> Void = { $0.setOrigin(source, isInvite: false) },
               then body: @escaping (Transaction) -> Void = { _ in }) throws -> pid_t {
        try Fork.child {
            guard let table = try? arena.ref.transactionSections().table(asyncState: nil, slot: Int32(n), onRecoveredLock: { _ in }) else {
                return 1
            }
            let input = txRequest(n, method: "MESSAGE")
            let reference = table.findOrCreate(key(n), request: input.request, callIDRange: input.callID, methodLength: 7,
                                               initialize: initialize)?.take()
            guard let reference else { return 2 }
            body(reference.transaction)
            cs_atomic_store_u32(flags + (n - 1), 1)
            // Kept until killed: a reference's lifetime may otherwise end at its last use.
            withExtendedLifetime(reference) { while true { pause() } }
            return 0
        }
    }
    let pids = [
        try child(1, initialize: { _ in
            cs_atomic_store_u32(flags, 1)
            while true { pause() }
        }),
        try child(2),
        try child(3, then: { tx in
            tx.withLock { locked in
                locked.insert(.replied)
                locked.uasStatus = 200
                cs_atomic_store_u32(flags + 2, 1)
                while true { pause() }
            }
        }),
        try child(4, then: { tx in
            tx.withLock { locked in
                locked.insert(.relayed)
                _ = locked.addBranch(to: source, request: Array("MESSAGE sip:x SIP/2.0\r\n\r\n".utf8), retransmitIntervalMs: 500)
            }
        }),
    ]
    for i in 0..<4 { awaitFlag(flags + i) }
    for pid in pids { kill(pid, SIGKILL) }
    for pid in pids { _ = Fork.wait(pid) }

    nonisolated(unsafe) var recovered = 0
    let table = try arena.ref.transactionSections().table(asyncState: nil, slot: 0, onRecoveredLock: { _ in recovered += 1 })
    var values: [String] = []
    for n in 1...4 {
        let settled = table.settleHolds(ofSlot: Int32(n))
        guard let reference = table.lookup(key(n)) else {
            values.append("tx\(n)=gone")
            continue
        }
        let armed = reference.transaction.withLock { tx in
            [tx.contains(.orphaned) ? "orphaned" : nil, tx.isArmed(.wait) ? "wait" : nil, tx.isArmed(.finalResponse) ? "fr" : nil,
             tx.branchCount > 0 && tx.isArmed(.branchTimeout(0)) ? "branchfr" : nil]
                .compactMap { $0 }.joined(separator: ",")
        }
        values.append("tx\(n)=\(armed.isEmpty ? "nothing" : armed)")
        values.append("settled\(n)=\(settled.referencesDropped),\(settled.orphaned),\(settled.removedUnfilled),\(settled.removalsRearmed),\(settled.branchTimeoutsRearmed)")
    }
    print((["recovered_locks=\(recovered)"] + values).joined(separator: " "))
    fflush(nil)
}
