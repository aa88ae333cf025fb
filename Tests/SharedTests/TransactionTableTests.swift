import CShared
import Foundation
import Testing
@testable import Shared

/// tm's transaction table in one process, through the server's own types
/// (`TransactionTable`, `TransactionReference`, `LockedTransaction`): find-or-create,
/// (index, label) names, unlink, reference counting with timers, stored buffers, running
/// out of memory, the recovered-lock handler. Refcounts and raw fields are read through
/// `Transaction.raw`.
@Suite struct TransactionTableTests {
    static func make(_ tag: String, size: Int = 4 << 20, buckets: Int = 16) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: size)
        _ = try arena.ref.installTransactions(buckets: buckets, wheels: [(name: TransactionWheel.tm.rawValue, tickMs: 10, slots: 64)])
        return arena
    }

    /// Runs `body` with a fresh arena and this process's `TransactionTable` of it. The table
    /// (which the `Transaction` views point back to without a reference count) and the
    /// mapping stay until `body` has returned, so every reference `body` makes is dropped
    /// while both exist.
    static func withTable<R>(_ tag: String, size: Int = 4 << 20, buckets: Int = 16,
                             onRecoveredLock: @escaping (Transaction) -> Void = { _ in },
                             _ body: (borrowing Arena, TransactionTable) throws -> R) throws -> R {
        let arena = try make(tag, size: size, buckets: buckets)
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table(asyncState: nil, onRecoveredLock: onRecoveredLock)
        return try withExtendedLifetime(table) { try body(arena, table) }
    }

    static func key(_ n: Int) -> [UInt8] { Array("z9hG4bK-branch-\(n)|INVITE".utf8) }
    static func request(_ n: Int, method: String = "INVITE") -> [UInt8] {
        Array("\(method) sip:bob@example.com SIP/2.0\r\nCall-ID: call-\(n)@host\r\nCSeq: 1 \(method)\r\n\r\n".utf8)
    }
    /// 64-bit FNV-1a: deterministic in every process.
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
    static func tableKey(_ n: Int, hash: UInt64? = nil) -> TransactionTable.Key {
        let k = key(n)
        return TransactionTable.Key(hash: hash ?? Self.hash(k), bytes: k)
    }

    static func create(_ table: TransactionTable, _ n: Int, method: String = "INVITE", hash: UInt64? = nil,
                       initialize: (borrowing LockedTransaction) -> Void = { _ in }) -> FoundTransaction? {
        let r = request(n, method: method)
        let callID = r.firstRange(of: Array("call-".utf8))!.lowerBound
        return table.findOrCreate(tableKey(n, hash: hash), request: r,
                                  callIDRange: callID..<(callID + "call-\(n)@host".utf8.count),
                                  methodLength: method.utf8.count, initialize: initialize)
    }

    /// A nil that should not be: `#require` for values that cannot be copied.
    struct Missing: Error, CustomStringConvertible {
        let what: String
        let location: SourceLocation
        var description: String { "\(what) is nil (\(location))" }
    }

    static func required<T: ~Copyable>(_ value: consuming T?, _ what: String = "value",
                                       sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        switch consume value {
        case .some(let v): return v
        case .none: throw Missing(what: what, location: sourceLocation)
        }
    }

    /// The transaction a lookup found (its reference is dropped at once), for identity checks.
    static func view(_ reference: consuming TransactionReference?) -> Transaction? {
        switch consume reference {
        case .some(let r): return r.transaction
        case .none: return nil
        }
    }

    /// A reference kept in a collection (an array cannot hold a `~Copyable` value).
    final class Held {
        let reference: TransactionReference
        init(_ reference: consuming TransactionReference) { self.reference = reference }
        var transaction: Transaction { reference.transaction }
    }

    static func refcount(_ tx: Transaction) -> Int32 { tx.raw.pointee.refcount }
    static func isUnlinked(_ tx: Transaction) -> Bool { tx.raw.pointee.flags & UInt32(CS_TX_UNLINKED) != 0 }

    @Test func findOrCreateReturnsTheSameTransactionForTheSameKey() throws {
        try Self.withTable("tx-same") { _, table in
            var initialized = 0
            let first = try Self.required(Self.create(table, 1) { locked in
                initialized += 1
                #expect(locked.raw.pointee.lock.holder_pid == getpid(), "a new transaction is filled in locked")
            }, "first")
            let firstCreated = first.created
            #expect(firstCreated && initialized == 1)
            let firstTx = first.reference.transaction
            let tx = firstTx.raw.pointee
            #expect(tx.refcount == 2 && tx.flags == 0 && tx.label == 1)
            #expect(tx.lock.holder_pid == 0, "unlocked once created")
            #expect(tx.on_failure == -1 && tx.on_reply == -1 && tx.on_branch == -1)
            let routes = firstTx.withLock { [$0.failureRoute, $0.replyRoute, $0.branchRoute] }
            #expect(routes == [nil, nil, nil])
            #expect(tx.index == UInt32(Self.hash(Self.key(1)) & 15))
            #expect(firstTx.id == TransactionID(index: tx.index, label: tx.label))
            #expect(tx.created_ms > 0 && tx.created_ms <= cs_now_ms())
            #expect(firstTx.request == Self.request(1))
            #expect(Array(UnsafeBufferPointer(start: cs_tx_key(firstTx.raw), count: Int(tx.key_len))) == Self.key(1))
            let req = firstTx.request
            #expect(String(decoding: req[0..<Int(tx.method_len)], as: UTF8.self) == "INVITE")
            #expect(String(decoding: req[Int(tx.callid_off)..<Int(tx.callid_off + tx.callid_len)], as: UTF8.self) == "call-1@host")

            let again = try Self.required(Self.create(table, 1) { _ in initialized += 1 }, "again")
            let (againCreated, againTx) = (again.created, again.reference.transaction)
            #expect(!againCreated && againTx == firstTx)
            #expect(initialized == 1, "a retransmission does not initialize again")
            #expect(Self.refcount(firstTx) == 3)
            _ = consume again
            #expect(Self.refcount(firstTx) == 2, "the second finder's reference went with it")

            let other = try Self.required(Self.create(table, 2) { locked in
                locked.setOrigin(SIPPeer(transport: .tcp, address: SocketAddress(ipv4: 0x0a00_0001, port: 5070),
                                         socketIndex: 2, connection: 0x0010_0003), isInvite: true)
            }, "other")
            let (otherCreated, otherTx) = (other.created, other.reference.transaction)
            #expect(otherCreated && otherTx != firstTx)
            #expect(otherTx.source == SIPPeer(transport: .tcp, address: SocketAddress(ipv4: 0x0a00_0001, port: 5070),
                                              socketIndex: 2, connection: 0x0010_0003))
            #expect(otherTx.isInvite && !firstTx.isInvite)
            // Same hash, other key: same bucket, still a different transaction.
            let clash = try Self.required(Self.create(table, 3, hash: Self.hash(Self.key(1))), "clash")
            let (clashCreated, clashTx) = (clash.created, clash.reference.transaction)
            #expect(clashCreated && clashTx != firstTx && clashTx.raw.pointee.index == firstTx.raw.pointee.index)
            #expect(clashTx.raw.pointee.label == 2, "labels count per bucket")
            #expect(Self.view(table.lookup(Self.tableKey(1))) == firstTx)
            #expect(Self.view(table.lookup(TransactionTable.Key(hash: Self.hash(Self.key(1)), bytes: Self.key(9)))) == nil)
            #expect(Self.refcount(firstTx) == 2, "a lookup's reference goes with it")
            #expect(table.created == 3 && table.live == 3)
            _ = consume first
            _ = consume other
            _ = consume clash
        }
    }

    @Test func lookupByIndexAndLabelAndAStaleLabel() throws {
        try Self.withTable("tx-label") { arena, table in
            let baseline = arena.ref.counters.live_allocs
            let a = try Self.required(Self.create(table, 1), "a").take()
            let aTx = a.transaction
            let (index, label) = (aTx.raw.pointee.index, aTx.raw.pointee.label)
            let found = try Self.required(table.lookup(TransactionID(index: index, label: label)), "found")
            let foundTx = found.transaction
            #expect(foundTx == aTx && Self.refcount(aTx) == 3)
            _ = consume found
            // Nothing armed and not suspended: finish() is exactly an unlink here.
            let idle = aTx.withLock { !$0.contains(.suspended) && !$0.isArmed(.finalResponse) && !$0.isArmed(.wait) }
            #expect(idle && table.wheel(.tm)?.armed == 0)
            aTx.withLock { $0.finish() }
            #expect(Self.refcount(aTx) == 1 && Self.isUnlinked(aTx))
            _ = consume a
            #expect(table.live == 0 && table.destroyed == 1)
            #expect(arena.ref.counters.live_allocs == baseline)
            // The bucket is used again: a new generation, a new label.
            let b = try Self.required(Self.create(table, 1), "b").take()
            let bTx = b.transaction
            #expect(bTx.raw.pointee.index == index && bTx.raw.pointee.label != label)
            #expect(Self.view(table.lookup(TransactionID(index: index, label: label))) == nil,
                    "the old name never reaches the new one")
            #expect(table.staleLookups == 1)
            #expect(Self.view(table.lookup(TransactionID(index: 999, label: 1))) == nil
                && Self.view(table.lookup(TransactionID(index: index, label: 0))) == nil)
            #expect(table.staleLookups == 3)
            let again = try Self.required(table.lookup(bTx.id), "again")
            let againTx = again.transaction
            #expect(againTx == bTx)
            _ = consume again
            _ = consume b
        }
    }

    @Test func unlinkHidesItWhileReferencesStayValid() throws {
        try Self.withTable("tx-unlink") { _, table in
            let tx = try Self.required(Self.create(table, 5), "tx").take()
            let view = tx.transaction
            let held = try Self.required(table.lookup(view.id), "held")
            // Nothing armed and not suspended: finish() is exactly an unlink here.
            let idle = view.withLock { !$0.contains(.suspended) && !$0.isArmed(.finalResponse) }
            #expect(idle && table.wheel(.tm)?.armed == 0)
            let unlinked = view.withLock { locked in
                locked.finish()
                return locked.contains(.unlinked)
            }
            #expect(unlinked && Self.isUnlinked(view))
            #expect(Self.view(table.lookup(Self.tableKey(5))) == nil)
            #expect(Self.view(table.lookup(view.id)) == nil)
            #expect(Self.refcount(view) == 2, "the caller's and the lookup's")
            view.withLock { $0.finish() } // idempotent
            #expect(Self.refcount(view) == 2)
            let heldTx = held.transaction
            #expect(heldTx.request == Self.request(5), "still readable")
            // Holding the reply lock across the unlink (as tm does) works and keeps it held.
            let holder = heldTx.withLock { locked in
                locked.finish()
                return locked.raw.pointee.lock.holder_pid
            }
            #expect(holder == getpid())
            #expect(heldTx.raw.pointee.lock.holder_pid == 0, "released when withLock returns")
            let fresh = try Self.required(Self.create(table, 5), "fresh")
            let (freshCreated, freshTx) = (fresh.created, fresh.reference.transaction)
            #expect(freshCreated && freshTx != view, "an unlinked key can be created again")
            _ = consume held
            _ = consume tx
            #expect(table.live == 1)
            _ = consume fresh
        }
    }

    @Test func lastUnrefFreesEveryStoredBuffer() throws {
        try Self.withTable("tx-free") { arena, table in
            let before = arena.ref.counters
            let tx = try Self.required(Self.create(table, 7), "tx").take()
            let view = tx.transaction
            let reply = Array("SIP/2.0 200 OK\r\n\r\n".utf8)
            let bigger = [UInt8](repeating: 65, count: 3000)
            let (stored, replaced, emptied, restored) = view.withLock { locked in
                let stored = [
                    locked.store(reply, in: .reply), locked.store(reply, in: .scriptState),
                    locked.store(reply, in: .branchRequest(0)), locked.store(reply, in: .branchReply(0)),
                    locked.store(reply, in: .branchRequest(3)),
                ]
                let replaced = locked.store(bigger, in: .reply)
                    && locked.raw.pointee.reply_len == 3000 && locked.bytes(.reply) == bigger
                let emptied = locked.store([], in: .scriptState) && !locked.has(.scriptState)
                    && locked.raw.pointee.state_off == 0 && locked.raw.pointee.state_len == 0
                    && locked.bytes(.scriptState).isEmpty
                let restored = locked.store(reply, in: .scriptState) && locked.bytes(.scriptState) == reply
                    && locked.bytes(.branchRequest(3)) == reply && locked.bytes(.branchReply(0)) == reply
                return (stored, replaced, emptied, restored)
            }
            #expect(stored == [true, true, true, true, true])
            #expect(replaced)
            #expect(emptied)
            #expect(restored)
            #expect(arena.ref.counters.live_allocs == before.live_allocs + 6)
            // Nothing armed and not suspended: finish() is exactly an unlink here.
            view.withLock { $0.finish() }
            _ = consume tx
            let after = arena.ref.counters
            #expect(after.live_allocs == before.live_allocs && after.used_bytes == before.used_bytes)
            #expect(table.live == 0 && table.destroyed == 1 && table.created == 1)
        }
    }

    @Test func timerReferencesKeepATransactionAlive() throws {
        try Self.withTable("tx-timer") { arena, table in
            let wheel = try #require(table.wheel(.tm))
            #expect(wheel.name == "tm")
            let baseline = arena.ref.counters.live_allocs

            // Disarmed before it fires: the timer's reference goes with the disarm.
            let a = try Self.required(Self.create(table, 1), "a").take()
            let aTx = a.transaction
            aTx.withLock { $0.arm(.finalResponse, afterMs: 1000) }
            #expect(Self.refcount(aTx) == 3)
            aTx.withLock { $0.arm(.finalResponse, afterMs: 2000) }
            #expect(Self.refcount(aTx) == 3, "re-arming takes no second reference")
            aTx.withLock { $0.arm(.branchRetransmission(1), afterMs: 500) }
            #expect(Self.refcount(aTx) == 4 && wheel.armed == 2)
            let bothArmed = aTx.withLock { $0.isArmed(.finalResponse) && $0.isArmed(.branchRetransmission(1)) }
            #expect(bothArmed)
            // Unlink alone (finish() would also disarm the timers): the raw call.
            cs_tx_unlink(arena.ref.header, table.raw, aTx.raw)
            _ = consume a
            #expect(table.live == 1 && Self.refcount(aTx) == 2, "only the timers hold it now")
            // Lock it only with a reference of our own (a disarm may drop the timers' last).
            let keep = aTx.retain()
            let (disarmed, disarmedAgain, branchStillArmed) = keep.transaction.withLock { locked in
                (locked.disarm(.finalResponse), locked.disarm(.finalResponse), locked.isArmed(.branchRetransmission(1)))
            }
            #expect(disarmed)
            #expect(!disarmedAgain)
            #expect(branchStillArmed && Self.refcount(aTx) == 2, "the branch timer's and ours")
            #expect(table.live == 1)
            keep.transaction.withLock { $0.finish() } // drops the branch timer's reference
            #expect(Self.refcount(aTx) == 1 && wheel.armed == 0, "only ours is left")
            _ = consume keep
            #expect(table.live == 0 && wheel.armed == 0, "the branch timer's reference was the last but ours")

            // Fired: the reference comes out of the wheel with the link.
            let b = try Self.required(Self.create(table, 2), "b").take()
            let bTx = b.transaction
            let armedAt = cs_now_ms()
            bTx.withLock { $0.arm(.wait, afterMs: 30) }
            #expect(Self.refcount(bTx) == 3)
            cs_tx_unlink(arena.ref.header, table.raw, bTx.raw) // unlink alone: keep the timer
            _ = consume b
            #expect(Self.refcount(bTx) == 1 && table.live == 1, "only the timer holds it now")
            var due = [UInt64](repeating: 0, count: 8)
            #expect(wheel.expire(nowMs: armedAt + 10, into: &due) == 0, "not due yet")
            #expect(wheel.expire(nowMs: cs_now_ms() + 40, into: &due) == 1)
            // What serveTimers does with an expired link: the timer's reference is adopted.
            let kind = wheel.link(at: due[0]).pointee.kind
            #expect(TransactionTimer(kind: kind) == .wait)
            let firedRaw = try #require(cs_tx_from_link(arena.ref.header, due[0], kind))
            let fired = TransactionReference(adopting: firedRaw, table: table)
            let firedTx = fired.transaction
            #expect(firedTx == bTx && Self.refcount(bTx) == 1 && table.live == 1)
            let (disarmedFired, stillArmed) = firedTx.withLock { ($0.disarm(.wait), $0.isArmed(.wait)) }
            #expect(!disarmedFired && !stillArmed, "fired: nothing to drop")
            #expect(Self.refcount(bTx) == 1)
            _ = consume fired
            #expect(table.live == 0)
            #expect(arena.ref.counters.live_allocs == baseline)
        }
    }

    @Test func fromLinkForEveryKind() throws {
        try Self.withTable("tx-link") { arena, table in
            let reference = try Self.required(Self.create(table, 1), "tx").take()
            let tx = reference.transaction.raw
            let ref = arena.ref
            func check(_ link: UnsafeMutablePointer<cs_timer_link>, _ timer: TransactionTimer, _ kind: Int, branch: UInt32 = 0) {
                let k = UInt32(kind) | branch << 8
                #expect(cs_tx_from_link(ref.header, ref.offset(of: link), k) == tx, "kind \(kind) branch \(branch)")
                #expect(TransactionTimer(kind: k) == timer && timer.kind == k, "kind \(kind) branch \(branch)")
                #expect(cs_tx_link(tx, k) == link, "kind \(kind) branch \(branch)")
            }
            check(&tx.pointee.fr, .finalResponse, CS_TXT_FR)
            check(&tx.pointee.uas_retr, .replyRetransmission, CS_TXT_UAS_RETR)
            check(&tx.pointee.wait, .wait, CS_TXT_WAIT)
            check(&tx.pointee.async_wait, .asyncWait, CS_TXT_ASYNC)
            check(&tx.pointee.branches.0.retr, .branchRetransmission(0), CS_TXT_BRANCH_RETR, branch: 0)
            check(&tx.pointee.branches.0.fr, .branchTimeout(0), CS_TXT_BRANCH_FR, branch: 0)
            check(&tx.pointee.branches.2.retr, .branchRetransmission(2), CS_TXT_BRANCH_RETR, branch: 2)
            check(&tx.pointee.branches.3.fr, .branchTimeout(3), CS_TXT_BRANCH_FR, branch: 3)
            let some = ref.offset(of: &tx.pointee.fr)
            for bad in [0, 7, 0xff, UInt32(CS_TXT_FR) | 1 << 8, UInt32(CS_TXT_BRANCH_FR) | UInt32(CS_TX_MAX_BRANCHES) << 8] as [UInt32] {
                #expect(cs_tx_from_link(ref.header, some, bad) == nil, "kind \(bad)")
                #expect(TransactionTimer(kind: bad) == nil, "kind \(bad)")
            }
            _ = consume reference
        }
    }

    @Test func runningOutOfMemoryLeavesNothingBehind() throws {
        try Self.withTable("tx-nomem", size: 96 << 10, buckets: 4) { arena, table in
            let before = arena.ref.counters
            let huge = [UInt8](repeating: 0, count: 1 << 20)
            var initialized = false
            let refused = table.findOrCreate(TransactionTable.Key(hash: 1, bytes: [1]), request: huge,
                                             callIDRange: 0..<0, methodLength: 0) { _ in initialized = true }
            let refusedIsNil = refused == nil
            _ = consume refused
            #expect(refusedIsNil && !initialized)
            #expect(table.failedCreates == 1 && table.created == 0 && table.live == 0)
            #expect(arena.ref.counters.live_allocs == before.live_allocs)

            // A stored buffer, then fill the arena.
            let first = try Self.required(Self.create(table, 0), "first").take()
            let tx = first.transaction
            let small = [UInt8](repeating: 1, count: 16)
            let storedSmall = tx.withLock { $0.store(small, in: .reply) }
            #expect(storedSmall)
            var made: [Held] = [Held(first)]
            fill: while true {
                switch Self.create(table, made.count) {
                case .some(let found):
                    guard found.created else { break fill }
                    made.append(Held(found.take()))
                case .none:
                    break fill
                }
            }
            #expect(made.count > 10 && table.failedCreates == 2 && table.live == UInt64(made.count))
            // A store that does not fit keeps the old buffer.
            let kept = tx.raw.pointee.reply_off
            let (storedHuge, keptBytes) = tx.withLock { ($0.store(huge, in: .reply), $0.bytes(.reply)) }
            #expect(!storedHuge)
            #expect(tx.raw.pointee.reply_off == kept && tx.raw.pointee.reply_len == 16 && keptBytes == small)
            // Nothing armed and not suspended: finish() is exactly an unlink here.
            for held in made { held.transaction.withLock { $0.finish() } }
            let count = made.count
            made.removeAll()
            #expect(table.live == 0 && table.destroyed == UInt64(count))
            #expect(arena.ref.counters.live_allocs == before.live_allocs)
            let reuse = try Self.required(Self.create(table, 0), "reuse")
            let reused = reuse.created
            #expect(reused, "the space is usable again")
            _ = consume reuse
        }
    }

    /// `onRecoveredLock` runs only for a lock whose holder died inside it. A clean lock
    /// (nested too) never calls it. A holder that dies: a thread of this process that
    /// ends holding the lock (robust mutexes are per thread, so its end leaves the lock
    /// "owner died" as a killed process would); a killed holder process is the
    /// multi-process helper's business (no fork in the test process).
    @Test func aRecoveredLockGoesThroughTheTablesHandler() throws {
        final class Calls: @unchecked Sendable {
            var transactions: [Transaction] = []
            var heldByUs: [Bool] = []
        }
        let calls = Calls()
        try Self.withTable("tx-recover", onRecoveredLock: { tx in
            calls.transactions.append(tx)
            calls.heldByUs.append(tx.raw.pointee.lock.holder_pid == getpid())
        }) { _, table in
            let reference = try Self.required(Self.create(table, 1) { _ in }, "tx").take()
            let tx = reference.transaction
            let value = tx.withLock { outer in
                outer.uasStatus = 180
                return tx.withLock { $0.uasStatus } // recursive
            }
            #expect(value == 180)
            #expect(calls.transactions.isEmpty, "a clean lock does not go through the handler")
            #expect(tx.raw.pointee.lock.recoveries == 0)

            // A holder that ends inside the lock.
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { arg in
                _ = cs_tx_lock(arg!.assumingMemoryBound(to: cs_tx.self)) // and never unlocks
                return nil
            }, UnsafeMutableRawPointer(tx.raw))
            try #require(started == 0)
            #expect(pthread_join(thread, nil) == 0)
            let afterRecovery = tx.withLock { locked in
                (calls.transactions.count, locked.uasStatus)
            }
            #expect(afterRecovery.0 == 1, "the handler ran before the body")
            #expect(afterRecovery.1 == 180, "what the dead holder left is there")
            #expect(calls.transactions == [tx] && calls.heldByUs == [true], "with the lock held")
            #expect(tx.raw.pointee.lock.recoveries == 1)
            tx.withLock { _ in }
            #expect(calls.transactions.count == 1, "recovered once: the next lock is clean")
            _ = consume reference
        }
    }
}
