import CShared
import Foundation
import Testing
@testable import Shared

/// The lock-free inspector on structures that move under it: a change is read again
/// and shown as approximate, never reported as damage; damage stays a problem.
@Suite struct InspectorSettleTests {
    /// An arena with a transaction table and a "tm" wheel of 64 slots of 10 ms, and
    /// `count` zeroed timer links.
    struct Fixture: ~Copyable {
        let arena: Arena
        let wheel: TimerWheelRef
        let links: UnsafeMutablePointer<cs_timer_link>

        deinit { try? arena.unlink() }

        func report() -> ArenaReport {
            ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size).report()
        }
    }

    static func make(_ tag: String, count: Int) throws -> Fixture {
        let arena = try Arena.create(name: testArenaName(tag), size: 4 << 20)
        let sections = try arena.ref.installTransactions(buckets: 16, wheels: [(name: "tm", tickMs: 10, slots: 64)])
        arena.ref.setReady()
        let links = try arena.ref.allocateOrThrow(count * MemoryLayout<cs_timer_link>.stride)
            .bindMemory(to: cs_timer_link.self, capacity: count)
        links.initialize(repeating: cs_timer_link(), count: count)
        return Fixture(arena: arena, wheel: sections.wheels[0], links: links)
    }

    /// Another thread re-arming (moving between slots) and disarming links as fast as it
    /// can, as receivers and the timer process do on a loaded server.
    final class Mover: @unchecked Sendable {
        let wheel: TimerWheelRef
        let links: UnsafeMutablePointer<cs_timer_link>
        let count: Int
        private let lock = NSLock()
        private var stopping = false
        private let done = DispatchSemaphore(value: 0)
        private(set) var moves = 0

        init(wheel: TimerWheelRef, links: UnsafeMutablePointer<cs_timer_link>, count: Int) {
            (self.wheel, self.links, self.count) = (wheel, links, count)
            Thread { self.run() }.start()
        }

        private func run() {
            var n = 0
            while !lock.withLock({ stopping }) {
                for _ in 0..<64 {
                    let link = links + Int.random(in: 0..<count)
                    if Int.random(in: 0..<4) == 0 {
                        wheel.disarm(link)
                    } else {
                        wheel.arm(link, dueMs: TimerWheelRef.nowMs + UInt64.random(in: 1_000...5_000), kind: 1)
                    }
                    n += 1
                }
            }
            lock.withLock { moves = n }
            done.signal()
        }

        /// Stops the thread; returns how many changes it made.
        func stop() -> Int {
            lock.withLock { stopping = true }
            done.wait()
            return lock.withLock { moves }
        }
    }

    @Test func aMovingWheelIsApproximateNeverDamaged() throws {
        let count = 3000
        let f = try Self.make("settle-moving", count: count)
        for i in 0..<count { f.wheel.arm(f.links + i, dueMs: TimerWheelRef.nowMs + 1_000 + UInt64(i), kind: 1) }
        let mover = Mover(wheel: f.wheel, links: f.links, count: count)
        var problems: [String] = []
        var approximate = 0
        for _ in 0..<100 {
            let r = f.report()
            problems += r.problems
            if r.wheels?.first?.approximate == true { approximate += 1 }
        }
        let moves = mover.stop()
        #expect(moves > 1000, "the wheel moved while it was read")
        #expect(problems.isEmpty, "a change under the reader is not damage: \(problems.prefix(5))")
        #expect(approximate > 0, "counts read while the wheel moved are marked approximate")
        // Standing still, the same wheel reads exactly.
        let still = try #require(f.report().wheels?.first)
        #expect(!still.approximate && still.walked == still.armed && Int(still.armed) == f.wheel.armed)
        #expect(f.report().rereads == 0)
    }

    @Test func aCountOffOnAStillWheelIsDamage() throws {
        let f = try Self.make("settle-count", count: 8)
        for i in 0..<8 { f.wheel.arm(f.links + i, dueMs: TimerWheelRef.nowMs + 1_000, kind: 1) }
        f.wheel.raw.pointee.armed += 3
        let r = f.report()
        #expect(r.problems.contains { $0.contains("11 links armed, 8 found on a wheel that did not move") },
                "\(r.problems)")
        #expect(r.problems.allSatisfy { $0.hasSuffix("(in all 5 reads)") }, "\(r.problems)")
        #expect(r.wheels?.first?.approximate == false && r.rereads == 4)
        f.wheel.raw.pointee.armed -= 3
        #expect(f.report().problems.isEmpty)
        // A link broken for good stays a problem after every read.
        let heads = (UnsafeMutableRawPointer(f.wheel.raw) + MemoryLayout<cs_timer_wheel>.size)
            .assumingMemoryBound(to: UInt64.self)
        let slot = Int(f.links[0].slot) - 1
        let head = heads[slot]
        heads[slot] = 3
        #expect(f.report().problems.contains { $0.contains("lies outside the arena") && $0.hasSuffix("(in all 5 reads)") })
        heads[slot] = head
        #expect(f.report().problems.isEmpty)
    }

    @Test func aReadIsRepeatedUntilItChecksOut() throws {
        let f = try Self.make("settle-retry", count: 1)
        var inspector = ArenaInspector(base: UnsafeRawPointer(f.arena.base), size: f.arena.size)
        inspector.rereadPauseMicroseconds = 1
        var calls = 0
        let settled = inspector.settled { problems -> Int in
            calls += 1
            if calls < 3 { problems.append("torn") }
            return calls
        }
        #expect(settled.value == 3 && settled.reads == 3 && settled.problems.isEmpty)
        calls = 0
        let broken = inspector.settled { problems -> Int in
            calls += 1
            problems.append("broken \(calls)")
            return calls
        }
        #expect(broken.reads == 5 && broken.problems == ["broken 5 (in all 5 reads)"])
        inspector.maxReads = 1
        #expect(inspector.settled({ $0.append("once") }).problems == ["once"])
        calls = 0
        let unclean = inspector.settled({ _ -> Int in calls += 1; return calls }, clean: { $0 >= 2 })
        #expect(unclean.value == 1 && unclean.reads == 1, "maxReads bounds the reads")
    }
}
