import CShared
import Foundation
import Testing
@testable import Shared

/// tm's transaction table in one process: find-or-create, (index, label) names, unlink,
/// reference counting with timers, stored buffers, running out of memory.
@Suite struct TransactionTableTests {
    static func make(_ tag: String, size: Int = 4 << 20, buckets: Int = 16) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: size)
        _ = try arena.ref.installTransactions(buckets: buckets, wheels: [(name: "tm", tickMs: 10, slots: 64)])
        return arena
    }

    static func key(_ n: Int) -> [UInt8] { Array("z9hG4bK-branch-\(n)|INVITE".utf8) }
    static func request(_ n: Int, method: String = "INVITE") -> [UInt8] {
        Array("\(method) sip:bob@example.com SIP/2.0\r\nCall-ID: call-\(n)@host\r\nCSeq: 1 \(method)\r\n\r\n".utf8)
    }
    /// 64-bit FNV-1a: deterministic in every process.
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static func create(_ table: TxTableRef, _ n: Int, method: String = "INVITE", hash: UInt64? = nil) -> (tx: TxTableRef.Transaction, created: Bool)? {
        let k = key(n), r = request(n, method: method)
        let callID = Array(r).firstRange(of: Array("call-".utf8))!.lowerBound
        return table.findOrCreate(hash: hash ?? Self.hash(k), key: k, request: r,
                                  callIDRange: callID..<(callID + "call-\(n)@host".utf8.count), methodLength: method.utf8.count)
    }

    @Test func findOrCreateReturnsTheSameTransactionForTheSameKey() throws {
        let arena = try Self.make("tx-same")
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let first = try #require(Self.create(table, 1))
        #expect(first.created)
        let tx = first.tx.pointee
        #expect(tx.refcount == 2 && tx.flags == 0 && tx.label == 1)
        #expect(tx.on_failure == -1 && tx.on_reply == -1 && tx.on_branch == -1)
        #expect(tx.index == UInt32(Self.hash(Self.key(1)) & 15))
        #expect(tx.created_ms > 0 && tx.created_ms <= cs_now_ms())
        #expect(Array(table.request(of: first.tx)) == Self.request(1))
        #expect(Array(table.key(of: first.tx)) == Self.key(1))
        let req = table.request(of: first.tx)
        #expect(String(decoding: req[0..<Int(tx.method_len)], as: UTF8.self) == "INVITE")
        #expect(String(decoding: req[Int(tx.callid_off)..<Int(tx.callid_off + tx.callid_len)], as: UTF8.self) == "call-1@host")

        let again = try #require(Self.create(table, 1))
        #expect(!again.created && again.tx == first.tx)
        #expect(first.tx.pointee.refcount == 3)
        let other = try #require(Self.create(table, 2))
        #expect(other.created && other.tx != first.tx)
        // Same hash, other key: same bucket, still a different transaction.
        let clash = try #require(Self.create(table, 3, hash: Self.hash(Self.key(1))))
        #expect(clash.created && clash.tx != first.tx && clash.tx.pointee.index == first.tx.pointee.index)
        #expect(clash.tx.pointee.label == 2, "labels count per bucket")
        #expect(table.lookup(hash: Self.hash(Self.key(1)), key: Self.key(1)) == first.tx)
        #expect(table.lookup(hash: Self.hash(Self.key(1)), key: Self.key(9)) == nil)
        #expect(table.created == 3 && table.live == 3)
    }

    @Test func lookupByIndexAndLabelAndAStaleLabel() throws {
        let arena = try Self.make("tx-label")
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let baseline = arena.ref.counters.live_allocs
        let a = try #require(Self.create(table, 1)).tx
        let (index, label) = (a.pointee.index, a.pointee.label)
        let found = try #require(table.lookup(index: index, label: label))
        #expect(found == a && a.pointee.refcount == 3)
        table.unref(found)
        table.unlink(a)
        table.unref(a)
        #expect(table.live == 0 && table.destroyed == 1)
        #expect(arena.ref.counters.live_allocs == baseline)
        // The bucket is used again: a new generation, a new label.
        let b = try #require(Self.create(table, 1)).tx
        #expect(b.pointee.index == index && b.pointee.label != label)
        #expect(table.lookup(index: index, label: label) == nil, "the old name never reaches the new one")
        #expect(table.staleLookups == 1)
        #expect(table.lookup(index: 999, label: 1) == nil && table.lookup(index: index, label: 0) == nil)
        #expect(table.staleLookups == 3)
        let again = try #require(table.lookup(index: index, label: b.pointee.label))
        #expect(again == b)
    }

    @Test func unlinkHidesItWhileReferencesStayValid() throws {
        let arena = try Self.make("tx-unlink")
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let tx = try #require(Self.create(table, 5)).tx
        let held = try #require(table.lookup(index: tx.pointee.index, label: tx.pointee.label))
        table.unlink(tx)
        #expect(tx.pointee.flags & UInt32(CS_TX_UNLINKED) != 0)
        #expect(table.lookup(hash: Self.hash(Self.key(5)), key: Self.key(5)) == nil)
        #expect(table.lookup(index: tx.pointee.index, label: tx.pointee.label) == nil)
        #expect(tx.pointee.refcount == 2, "the caller's and the lookup's")
        table.unlink(tx) // idempotent
        #expect(tx.pointee.refcount == 2)
        #expect(Array(table.request(of: held)) == Self.request(5), "still readable")
        // Holding the reply lock across unlink (as tm does) works and keeps it held.
        table.lock(held)
        table.unlink(held)
        #expect(held.pointee.lock.holder_pid == getpid())
        table.unlock(held)
        let fresh = try #require(Self.create(table, 5))
        #expect(fresh.created, "an unlinked key can be created again")
        table.unref(held)
        table.unref(tx)
        #expect(table.live == 1)
    }

    @Test func lastUnrefFreesEveryStoredBuffer() throws {
        let arena = try Self.make("tx-free")
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let before = arena.ref.counters
        let tx = try #require(Self.create(table, 7)).tx
        let reply = Array("SIP/2.0 200 OK\r\n\r\n".utf8)
        table.lock(tx)
        reply.withUnsafeBytes { b in
            #expect(table.store(b, offset: &tx.pointee.reply_off, length: &tx.pointee.reply_len))
            #expect(table.store(b, offset: &tx.pointee.state_off, length: &tx.pointee.state_len))
            #expect(table.store(b, offset: &tx.pointee.branches.0.request_off, length: &tx.pointee.branches.0.request_len))
            #expect(table.store(b, offset: &tx.pointee.branches.0.reply_off, length: &tx.pointee.branches.0.reply_len))
            #expect(table.store(b, offset: &tx.pointee.branches.3.request_off, length: &tx.pointee.branches.3.request_len))
        }
        let bigger = [UInt8](repeating: 65, count: 3000)
        bigger.withUnsafeBytes { #expect(table.store($0, offset: &tx.pointee.reply_off, length: &tx.pointee.reply_len)) }
        #expect(tx.pointee.reply_len == 3000 && Array(table.stored(offset: tx.pointee.reply_off, length: tx.pointee.reply_len)) == bigger)
        #expect(table.store(UnsafeRawBufferPointer(start: nil, count: 0), offset: &tx.pointee.state_off, length: &tx.pointee.state_len))
        #expect(tx.pointee.state_off == 0 && tx.pointee.state_len == 0)
        reply.withUnsafeBytes { _ = table.store($0, offset: &tx.pointee.state_off, length: &tx.pointee.state_len) }
        table.unlock(tx)
        #expect(arena.ref.counters.live_allocs == before.live_allocs + 6)
        table.unlink(tx)
        table.unref(tx)
        let after = arena.ref.counters
        #expect(after.live_allocs == before.live_allocs && after.used_bytes == before.used_bytes)
        #expect(table.live == 0 && table.destroyed == 1 && table.created == 1)
    }

    @Test func timerReferencesKeepATransactionAlive() throws {
        let arena = try Self.make("tx-timer")
        defer { try? arena.unlink() }
        let sections = try arena.ref.transactionSections()
        let (table, wheel) = (sections.table, sections.wheels[0])
        let baseline = arena.ref.counters.live_allocs
        let t0 = cs_now_ms()

        // Disarmed before it fires: the timer's reference goes with the disarm.
        let a = try #require(Self.create(table, 1)).tx
        table.armTimer(a, link: &a.pointee.fr, in: wheel, dueMs: t0 + 1000, kind: UInt32(CS_TXT_FR))
        #expect(a.pointee.refcount == 3)
        table.armTimer(a, link: &a.pointee.fr, in: wheel, dueMs: t0 + 2000, kind: UInt32(CS_TXT_FR))
        #expect(a.pointee.refcount == 3, "re-arming takes no second reference")
        table.armTimer(a, link: &a.pointee.branches.1.retr, in: wheel, dueMs: t0 + 500, kind: UInt32(CS_TXT_BRANCH_RETR) | 1 << 8)
        #expect(a.pointee.refcount == 4)
        table.unlink(a)
        table.unref(a)
        #expect(table.live == 1 && a.pointee.refcount == 2, "only the timers hold it now")
        #expect(table.disarmTimer(a, link: &a.pointee.fr, in: wheel))
        #expect(!table.disarmTimer(a, link: &a.pointee.fr, in: wheel))
        #expect(table.live == 1)
        table.disarmAllTimers(a, in: wheel) // drops the branch timer's reference: the last one
        #expect(table.live == 0 && wheel.armed == 0)

        // Fired: the reference comes out of the wheel with the link.
        let b = try #require(Self.create(table, 2)).tx
        table.armTimer(b, link: &b.pointee.wait, in: wheel, dueMs: t0 + 30, kind: UInt32(CS_TXT_WAIT))
        table.unlink(b)
        table.unref(b)
        var due = [UInt64](repeating: 0, count: 8)
        #expect(wheel.expire(nowMs: t0 + 40, into: &due) == 1)
        let link = wheel.link(at: due[0])
        let fired = try #require(table.transaction(fromLink: due[0], kind: link.pointee.kind))
        #expect(fired == b && b.pointee.refcount == 1 && table.live == 1)
        #expect(!table.disarmTimer(b, link: &b.pointee.wait, in: wheel), "fired: nothing to drop")
        table.unref(fired)
        #expect(table.live == 0)
        #expect(arena.ref.counters.live_allocs == baseline)
    }

    @Test func fromLinkForEveryKind() throws {
        let arena = try Self.make("tx-link")
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let tx = try #require(Self.create(table, 1)).tx
        let ref = arena.ref
        func check(_ link: UnsafeMutablePointer<cs_timer_link>, _ kind: Int, branch: UInt32 = 0) {
            #expect(table.transaction(fromLink: ref.offset(of: link), kind: UInt32(kind) | branch << 8) == tx,
                    "kind \(kind) branch \(branch)")
        }
        check(&tx.pointee.fr, CS_TXT_FR)
        check(&tx.pointee.uas_retr, CS_TXT_UAS_RETR)
        check(&tx.pointee.wait, CS_TXT_WAIT)
        check(&tx.pointee.branches.0.retr, CS_TXT_BRANCH_RETR, branch: 0)
        check(&tx.pointee.branches.0.fr, CS_TXT_BRANCH_FR, branch: 0)
        check(&tx.pointee.branches.2.retr, CS_TXT_BRANCH_RETR, branch: 2)
        check(&tx.pointee.branches.3.fr, CS_TXT_BRANCH_FR, branch: 3)
        let some = ref.offset(of: &tx.pointee.fr)
        for bad in [0, 7, 0xff, UInt32(CS_TXT_FR) | 1 << 8, UInt32(CS_TXT_BRANCH_FR) | UInt32(CS_TX_MAX_BRANCHES) << 8] as [UInt32] {
            #expect(table.transaction(fromLink: some, kind: bad) == nil, "kind \(bad)")
        }
    }

    @Test func runningOutOfMemoryLeavesNothingBehind() throws {
        let arena = try Self.make("tx-nomem", size: 96 << 10, buckets: 4)
        defer { try? arena.unlink() }
        let table = try arena.ref.transactionSections().table
        let before = arena.ref.counters
        let huge = [UInt8](repeating: 0, count: 1 << 20)
        #expect(table.findOrCreate(hash: 1, key: [1], request: huge, callIDRange: 0..<0, methodLength: 0) == nil)
        #expect(table.failedCreates == 1 && table.created == 0 && table.live == 0)
        #expect(arena.ref.counters.live_allocs == before.live_allocs)

        // A stored buffer, then fill the arena.
        let tx = try #require(Self.create(table, 0)).tx
        [UInt8](repeating: 1, count: 16).withUnsafeBytes {
            #expect(table.store($0, offset: &tx.pointee.reply_off, length: &tx.pointee.reply_len))
        }
        var made: [TxTableRef.Transaction] = [tx]
        while let r = Self.create(table, made.count), r.created { made.append(r.tx) }
        #expect(made.count > 10 && table.failedCreates == 2 && table.live == UInt64(made.count))
        // A store that does not fit keeps the old buffer.
        let kept = tx.pointee.reply_off
        huge.withUnsafeBytes { #expect(!table.store($0, offset: &tx.pointee.reply_off, length: &tx.pointee.reply_len)) }
        #expect(tx.pointee.reply_off == kept && tx.pointee.reply_len == 16)
        for tx in made {
            table.unlink(tx)
            table.unref(tx)
        }
        #expect(table.live == 0 && table.destroyed == UInt64(made.count))
        #expect(arena.ref.counters.live_allocs == before.live_allocs)
        #expect(Self.create(table, 0)?.created == true, "the space is usable again")
    }
}
