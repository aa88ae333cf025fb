import CShared
import Foundation
import Testing
@testable import Shared

/// The inspector's view of transactions and wheels: what it shows, and damage reported
/// as problems, never a crash.
@Suite struct TransactionsReportTests {
    static func report(_ arena: borrowing Arena, limit: Int = 20) -> ArenaReport {
        report(base: arena.base, size: arena.size, limit: limit)
    }

    static func report(base: UnsafeMutableRawPointer, size: Int, limit: Int = 20) -> ArenaReport {
        var inspector = ArenaInspector(base: UnsafeRawPointer(base), size: size)
        inspector.maxTransactions = limit
        return inspector.report()
    }

    /// Runs `body` with an arena holding a table of four buckets, a "tm" wheel, and six
    /// transactions (0 an INVITE, the others OPTIONS), each held by one reference besides
    /// the table's until `body` has returned; the table object and the mapping outlive
    /// every reference.
    static func withArena<R>(_ tag: String,
                             _ body: (borrowing Arena, TransactionTable) throws -> R) throws -> R {
        let arena = try Arena.create(name: testArenaName(tag), size: 2 << 20)
        defer { try? arena.unlink() }
        _ = try arena.ref.installTransactions(buckets: 4, wheels: [(name: TransactionWheel.tm.rawValue, tickMs: 10, slots: 16)])
        arena.ref.setReady()
        let table = try arena.ref.transactionSections().table(asyncState: nil, onRecoveredLock: { _ in })
        return try withExtendedLifetime(table) {
            var held: [TransactionTableTests.Held] = []
            defer { held.removeAll() }
            for n in 0..<6 {
                let found = try TransactionTableTests.required(
                    TransactionTableTests.create(table, n, method: n == 0 ? "INVITE" : "OPTIONS") { locked in
                        locked.setOrigin(SIPPeer(transport: .udp, address: SocketAddress(ipv4: 0x7f00_0001, port: 5060),
                                                 socketIndex: 0), isInvite: n == 0)
                    }, "transaction \(n)")
                held.append(TransactionTableTests.Held(found.take()))
            }
            return try body(arena, table)
        }
    }

    @Test func showsTheTableAndTheWheel() throws {
        try Self.withArena("txrep-show") { arena, table in
            let first = try TransactionTableTests.required(TransactionTableTests.create(table, 0), "first").take()
            let tx = first.transaction
            let suspended = tx.withLock { locked in
                locked.finalResponseTimeoutMs = 5000
                return locked.suspend(target: .action(block: 4, action: 1), wait: .none, messageFlags: 0, scriptState: [])
            }
            #expect(suspended == .suspended && table.suspended == 1)
            let r = Self.report(arena, limit: 3)
            #expect(r.problems.isEmpty, "\(r.problems)")
            #expect(r.sections.map(\.kind).contains("transactions") && r.sections.map(\.kind).contains("timer wheel"))
            let t = try #require(r.transactions)
            #expect(t.buckets == 4 && t.live == 6 && t.created == 6 && t.walked == 6 && t.byState.suspended == 1)
            #expect(t.shown.count == 3 && t.shown[0].callID == "call-0@host", "suspended first")
            #expect(t.shown[0].method == "INVITE" && t.shown[0].flags == ["invite", "suspended"])
            #expect(t.shown[0].resume?.kind == "action" && t.shown[0].resume?.block == 4 && t.shown[0].resume?.dueInMs == nil)
            // Transaction 0: the table's, the fixture's, this test's and its armed timer's.
            #expect(t.shown[0].refcount == 4 && t.shown[1].refcount == 2)
            #expect(t.shown[1].resume == nil && t.shown[1].method == "OPTIONS")
            let w = try #require(r.wheels?.first)
            #expect(w.name == "tm" && w.tickMs == 10 && w.slots == 16 && w.armed == 1 && w.armedTotal == 1)
            #expect((w.nextDueInMs ?? 0) > 4000 && (w.nextDueInMs ?? 0) <= 5000)
            #expect(table.wheel(.tm)?.nextDueMs != nil)
            _ = consume first
        }
    }

    @Test func damageBecomesProblems() throws {
        try Self.withArena("txrep-damage") { arena, transactions in
            // The mapping, for closures (which cannot capture the borrowed arena).
            let (base, size, ref) = (arena.base, arena.size, arena.ref)
            let table = transactions.raw
            let wheel = try #require(transactions.wheel(.tm))
            let reference = try TransactionTableTests.required(TransactionTableTests.create(transactions, 1), "tx").take()
            reference.transaction.withLock { $0.arm(.wait, afterMs: 100) }
            // Damage goes through the raw pointer: the inspector must survive what no API writes.
            let tx = reference.transaction.raw
            #expect(wheel.armed == 1 && tx.pointee.wait.kind == UInt32(CS_TXT_WAIT))
            let bucket = (UnsafeMutableRawPointer(table) + MemoryLayout<cs_tx_table>.size).assumingMemoryBound(to: cs_tx_bucket.self)
                + Int(tx.pointee.index)
            let first = bucket.pointee.first

            func problems(_ damage: () -> Void, _ repair: () -> Void) -> [String] {
                damage()
                defer { repair() }
                return Self.report(base: base, size: size).problems
            }
            #expect(problems({ bucket.pointee.first = UInt64(size) + 64 }, { bucket.pointee.first = first })
                .contains { $0.contains("lies outside the arena") })
            let next = tx.pointee.next
            #expect(problems({ tx.pointee.next = ref.offset(of: tx) }, { tx.pointee.next = next })
                .contains { $0.contains("closes a cycle") } || first != ref.offset(of: tx))
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
            #expect(cs_wheel_next_due(base, UInt64(size), wheel.raw) != 0)
            let slot = Int(tx.pointee.wait.slot) - 1
            let heads = (UnsafeMutableRawPointer(wheel.raw) + MemoryLayout<cs_timer_wheel>.size)
                .assumingMemoryBound(to: UInt64.self)
            let head = heads[slot]
            #expect(problems({ heads[slot] = 3 }, { heads[slot] = head }).contains { $0.contains("outside the arena") })
            heads[slot] = 3
            #expect(cs_wheel_next_due(base, UInt64(size), wheel.raw) == 0, "a bad link is not followed")
            heads[slot] = head
            let buckets = table.pointee.bucket_count
            #expect(problems({ table.pointee.bucket_count = 3 }, { table.pointee.bucket_count = buckets })
                .contains { $0.contains("do not fit") })
            #expect(Self.report(arena).problems.isEmpty, "every repair restored a clean arena")
            _ = consume reference
        }
    }
}
