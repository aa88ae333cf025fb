import CShared
import Foundation
import Testing
@testable import Shared

/// The inspector's view of transactions and wheels: what it shows, and damage reported
/// as problems, never a crash.
@Suite struct TransactionsReportTests {
    static func report(_ arena: borrowing Arena, limit: Int = 20) -> ArenaReport {
        var inspector = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size)
        inspector.maxTransactions = limit
        return inspector.report()
    }

    static func make(_ tag: String) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: 2 << 20)
        let sections = try arena.ref.installTransactions(buckets: 4, wheels: [(name: "tm", tickMs: 10, slots: 16)])
        arena.ref.setReady()
        for n in 0..<6 { _ = TransactionTableTests.create(sections.table, n, method: n == 0 ? "INVITE" : "OPTIONS") }
        return arena
    }

    @Test func showsTheTableAndTheWheel() throws {
        let arena = try Self.make("txrep-show")
        defer { try? arena.unlink() }
        let sections = try arena.ref.transactionSections()
        let first = try #require(TransactionTableTests.create(sections.table, 0)).tx
        first.pointee.flags = UInt32(CS_TX_SUSPENDED | CS_TX_INVITE)
        first.pointee.resume_kind = UInt32(CS_RESUME_ACTION)
        first.pointee.resume_block = 4
        first.pointee.resume_action = 1
        sections.table.armTimer(first, link: &first.pointee.fr, in: sections.wheels[0], dueMs: cs_now_ms() + 5000,
                                kind: UInt32(CS_TXT_FR))
        let r = Self.report(arena, limit: 3)
        #expect(r.problems.isEmpty, "\(r.problems)")
        #expect(r.sections.map(\.kind).contains("transactions") && r.sections.map(\.kind).contains("timer wheel"))
        let t = try #require(r.transactions)
        #expect(t.buckets == 4 && t.live == 6 && t.created == 6 && t.walked == 6 && t.byState.suspended == 1)
        #expect(t.shown.count == 3 && t.shown[0].callID == "call-0@host", "suspended first")
        #expect(t.shown[0].method == "INVITE" && t.shown[0].flags == ["invite", "suspended"])
        #expect(t.shown[0].resume?.kind == "action" && t.shown[0].resume?.block == 4 && t.shown[0].resume?.dueInMs == nil)
        #expect(t.shown[0].refcount == 4 && t.shown[1].refcount == 2)
        #expect(t.shown[1].resume == nil && t.shown[1].method == "OPTIONS")
        let w = try #require(r.wheels?.first)
        #expect(w.name == "tm" && w.tickMs == 10 && w.slots == 16 && w.armed == 1 && w.armedTotal == 1)
        #expect((w.nextDueInMs ?? 0) > 4000 && (w.nextDueInMs ?? 0) <= 5000)
        #expect(sections.wheels[0].nextDueMs != nil)
    }

    @Test func damageBecomesProblems() throws {
        let arena = try Self.make("txrep-damage")
        defer { try? arena.unlink() }
        let sections = try arena.ref.transactionSections()
        let table = sections.table.raw
        let wheel = sections.wheels[0]
        let tx = try #require(TransactionTableTests.create(sections.table, 1)).tx
        wheel.arm(&tx.pointee.wait, dueMs: cs_now_ms() + 100, kind: 3)
        let bucket = (UnsafeMutableRawPointer(table) + MemoryLayout<cs_tx_table>.size).assumingMemoryBound(to: cs_tx_bucket.self)
            + Int(tx.pointee.index)
        let first = bucket.pointee.first

        func problems(_ damage: () -> Void, _ repair: () -> Void) -> [String] {
            damage()
            defer { repair() }
            return Self.report(arena).problems
        }
        #expect(problems({ bucket.pointee.first = UInt64(arena.size) + 64 }, { bucket.pointee.first = first })
            .contains { $0.contains("lies outside the arena") })
        let next = tx.pointee.next
        #expect(problems({ tx.pointee.next = arena.ref.offset(of: tx) }, { tx.pointee.next = next })
            .contains { $0.contains("closes a cycle") } || first != arena.ref.offset(of: tx))
        let length = tx.pointee.request_len
        #expect(problems({ tx.pointee.request_len = UInt32.max }, { tx.pointee.request_len = length })
            .contains { $0.contains("run past the arena") })
        let method = tx.pointee.method_len
        #expect(problems({ tx.pointee.method_len = length + 1 }, { tx.pointee.method_len = method })
            .contains { $0.contains("method length") })
        let callID = tx.pointee.callid_off
        #expect(problems({ tx.pointee.callid_off = UInt32.max }, { tx.pointee.callid_off = callID })
            .contains { $0.contains("Call-ID") })
        let branches = tx.pointee.branch_count
        #expect(problems({ tx.pointee.branch_count = 99 }, { tx.pointee.branch_count = branches })
            .contains { $0.contains("branches") })
        let slots = wheel.raw.pointee.slot_count
        #expect(problems({ wheel.raw.pointee.slot_count = 1 << 30 }, { wheel.raw.pointee.slot_count = slots })
            .contains { $0.contains("do not fit") })
        #expect(cs_wheel_next_due(arena.base, UInt64(arena.size), wheel.raw) != 0)
        let slot = Int(tx.pointee.wait.slot) - 1
        let heads = (UnsafeMutableRawPointer(wheel.raw) + MemoryLayout<cs_timer_wheel>.size)
            .assumingMemoryBound(to: UInt64.self)
        let head = heads[slot]
        #expect(problems({ heads[slot] = 3 }, { heads[slot] = head }).contains { $0.contains("outside the arena") })
        heads[slot] = 3
        #expect(cs_wheel_next_due(arena.base, UInt64(arena.size), wheel.raw) == 0, "a bad link is not followed")
        heads[slot] = head
        let buckets = table.pointee.bucket_count
        #expect(problems({ table.pointee.bucket_count = 3 }, { table.pointee.bucket_count = buckets })
            .contains { $0.contains("do not fit") })
        #expect(Self.report(arena).problems.isEmpty, "every repair restored a clean arena")
    }
}
