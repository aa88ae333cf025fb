import CShared
import Testing
@testable import Shared

/// Suspension is one operation under one lock: state, target, wait and timers together,
/// and the suspended gauge kept right through every way out.
@Suite struct TransactionSuspendTests {
    final class Fixture {
        let arena: Arena
        let table: TransactionTable
        init() throws {
            arena = try Arena.create(name: testArenaName("suspend"), size: 4 << 20)
            let sections = try arena.ref.installTransactions(buckets: 16, wheels: [
                TransactionWheel.tm.spec(), TransactionWheel.secondRing.spec(), TransactionWheel.milliseconds.spec(tickMs: 1),
            ])
            let async = try arena.ref.installAsyncState(ringTickMs: 100, msTickMs: 1)
            table = sections.table(asyncState: async, onRecoveredLock: { _ in })
        }
        deinit { try? arena.unlink() }

        func make(_ n: Int) throws -> TransactionReference {
            let request = Array("INVITE sip:b@h SIP/2.0\r\nCall-ID: c\(n)\r\n\r\n".utf8)
            guard let found = table.findOrCreate(.init(hash: UInt64(n), bytes: Array("k\(n)".utf8)), request: request,
                                                 callIDRange: 0..<0, methodLength: 6, initialize: { $0.finalResponseTimeoutMs = 30_000 })
            else { throw ArenaError.outOfMemory(requested: request.count) }
            return found.take()
        }
    }

    @Test func suspendingSavesEverythingAndArmsBothWaits() throws {
        let f = try Fixture()
        let ref = try f.make(1)
        let tx = ref.transaction
        let state: [UInt8] = [2, 9, 9]
        let due = MonotonicClock.nowMs + 5_000
        let outcome = tx.withLock {
            $0.suspend(target: .route(4), wait: .secondRing(dueMs: due), messageFlags: 0b101, scriptState: state)
        }
        #expect(outcome == .suspended)
        #expect(f.table.suspended == 1)
        tx.withLock { locked in
            let (suspended, target, flags, saved) = (locked.contains(.suspended), locked.resumeTarget,
                                                     locked.messageFlags, locked.bytes(.scriptState))
            let (frArmed, waitArmed) = (locked.isArmed(.finalResponse), locked.isArmed(.asyncWait))
            #expect(suspended && target == .route(4))
            #expect(flags == 0b101 && saved == state)
            #expect(frArmed && waitArmed)
        }
        #expect(f.table.wheel(.tm)?.armed == 1 && f.table.wheel(.secondRing)?.armed == 1)
        // Suspended already: refused, nothing changed.
        #expect(tx.withLock { $0.suspend(target: .none, wait: .none, messageFlags: 0, scriptState: []) } == .answeredOrSuspended)
        #expect(f.table.suspended == 1)

        // Suspended again later (from its resumed route) on the millisecond wheel: the ring's
        // wait leaves the ring, the new one is the one that counts.
        tx.withLock { locked in
            let (first, second) = (locked.endSuspension(), locked.endSuspension())
            #expect(first && !second, "only once")
            let again = locked.suspend(target: .action(block: 2, action: 5), wait: .milliseconds(dueMs: due + 1_000),
                                       messageFlags: 0, scriptState: state)
            let (target, replaced) = (locked.resumeTarget, locked.asyncWaitWasReplaced)
            #expect(again == .suspended && target == .action(block: 2, action: 5))
            #expect(replaced, "an earlier wait firing now would find a later one armed: it is not the current one")
        }
        #expect(f.table.wheel(.secondRing)?.armed == 0 && f.table.wheel(.milliseconds)?.armed == 1)
        #expect(f.table.suspended == 1)

        // finish: tm's timers stop, the gauge drops, lookups stop finding it; the async wait
        // stays armed (it ends by firing) and keeps its reference.
        tx.withLock { $0.finish() }
        #expect(f.table.suspended == 0 && f.table.wheel(.tm)?.armed == 0 && f.table.wheel(.milliseconds)?.armed == 1)
        let found: Bool
        switch f.table.lookup(tx.id) {
        case .some: found = true
        case .none: found = false
        }
        #expect(!found, "lookups no longer find it")
    }

    @Test func aTaskGroupWaitNamesItsGroupAndCancelling() throws {
        let f = try Fixture()
        let ref = try f.make(2)
        let tx = ref.transaction
        #expect(tx.withLock { $0.suspend(target: .route(1), wait: .taskGroup(index: 3), messageFlags: 0, scriptState: []) }
            == .suspended)
        #expect(tx.raw.pointee.resume_group == 3 && tx.raw.pointee.resume_due_ms == 0)
        tx.withLock { locked in
            locked.cancelSuspension()
            let (suspended, armed) = (locked.contains(.suspended), locked.isArmed(.finalResponse))
            #expect(!suspended && !armed)
        }
        #expect(f.table.suspended == 0 && f.table.wheel(.tm)?.armed == 0)
        // Answered: cannot be suspended.
        tx.withLock { $0.insert(.replied) }
        #expect(tx.withLock { $0.suspend(target: .none, wait: .none, messageFlags: 0, scriptState: []) } == .answeredOrSuspended)
    }
}
