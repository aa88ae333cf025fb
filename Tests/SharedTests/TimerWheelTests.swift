import CShared
import Testing
@testable import Shared

/// Timing wheels in one process, with explicit clock values: arming, re-arming,
/// disarming, expiry order, laps, the `max` limit and long pauses.
@Suite struct TimerWheelTests {
    /// A wheel of 8 slots of 10 ms (one lap = 80 ms) and zeroed links in an arena that
    /// is unlinked when the fixture goes away.
    struct Fixture: ~Copyable {
        let arena: Arena
        let wheel: TimerWheelRef
        let links: UnsafeMutablePointer<cs_timer_link>
        /// The clock when the wheel was made; tests pass times relative to it.
        let t0: UInt64

        deinit { try? arena.unlink() }
    }

    static func make(_ tag: String, count: Int = 32) throws -> Fixture {
        let arena = try Arena.create(name: testArenaName(tag), size: 1 << 20)
        let sections = try arena.ref.installTransactions(buckets: 16, wheels: [(name: "t", tickMs: 10, slots: 8)])
        let t0 = cs_now_ms()
        let links = try arena.ref.allocateOrThrow(count * MemoryLayout<cs_timer_link>.stride)
            .bindMemory(to: cs_timer_link.self, capacity: count)
        links.initialize(repeating: cs_timer_link(), count: count)
        return Fixture(arena: arena, wheel: sections.wheels[0], links: links, t0: t0)
    }

    /// Index of the link at `offset`.
    static func index(_ wheel: TimerWheelRef, _ links: UnsafeMutablePointer<cs_timer_link>, _ offset: UInt64) -> Int {
        Int(offset - wheel.arena.offset(of: links)) / MemoryLayout<cs_timer_link>.stride
    }

    /// Every link due at `now`, in the order handed out, collected over as many calls as needed.
    static func expireAll(_ wheel: TimerWheelRef, _ links: UnsafeMutablePointer<cs_timer_link>, now: UInt64,
                          batch: Int = 64) -> [Int] {
        var out: [Int] = []
        var buffer = [UInt64](repeating: 0, count: batch)
        while true {
            let n = wheel.expire(nowMs: now, into: &buffer)
            out += buffer[0..<n].map { index(wheel, links, $0) }
            if n < batch { return out }
        }
    }

    @Test func armDisarmAndRearm() throws {
        let f = try Self.make("wheel-arm")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        #expect(wheel.name == "t" && wheel.tickMs == 10 && wheel.slotCount == 8)
        #expect(wheel.nextDueMs == nil)
        #expect(!wheel.arm(links, dueMs: t0 + 50, kind: 7), "newly armed")
        #expect(links.pointee.slot != 0 && links.pointee.kind == 7)
        #expect(wheel.armed == 1 && wheel.nextDueMs == t0 + 50)
        #expect(wheel.arm(links, dueMs: t0 + 60, kind: 7), "re-armed: moved")
        #expect(wheel.armed == 1 && wheel.nextDueMs == t0 + 60)
        #expect(!wheel.arm(links + 1, dueMs: t0 + 20, kind: 8))
        #expect(wheel.armed == 2 && wheel.nextDueMs == t0 + 20)
        #expect(wheel.disarm(links))
        #expect(!wheel.disarm(links), "disarming twice finds it unarmed")
        #expect(links.pointee.slot == 0)
        #expect(wheel.armed == 1 && wheel.armedTotal == 3)
        #expect(Self.expireAll(wheel, links, now: t0 + 100) == [1])
        #expect(wheel.armed == 0 && wheel.firedTotal == 1)
        #expect(!wheel.disarm(links + 1), "a fired link is not armed")
    }

    @Test func expiresInTickOrder() throws {
        let f = try Self.make("wheel-order")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        for (i, due) in [70, 20, 50, 30, 40].enumerated() { wheel.arm(links + i, dueMs: t0 + UInt64(due), kind: 1) }
        #expect(Self.expireAll(wheel, links, now: t0 + 5).isEmpty, "nothing due yet")
        #expect(Self.expireAll(wheel, links, now: t0 + 35) == [1, 3])
        #expect(Self.expireAll(wheel, links, now: t0 + 100) == [4, 2, 0])
        #expect(Self.expireAll(wheel, links, now: t0 + 100).isEmpty, "nothing fires twice")
        #expect(wheel.armed == 0 && wheel.firedTotal == 5)
    }

    @Test func aLinkWithinTheCurrentTickIsNotSkipped() throws {
        let f = try Self.make("wheel-tick")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        let tick = (t0 / 10 + 3) * 10
        wheel.arm(links, dueMs: tick + 7, kind: 1)
        #expect(Self.expireAll(wheel, links, now: tick + 2).isEmpty, "its tick is walked, but it is not due")
        #expect(Self.expireAll(wheel, links, now: tick + 7) == [0], "met again within the same tick")
    }

    @Test func linksALapAheadAreNotFiredEarly() throws {
        let f = try Self.make("wheel-lap")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        wheel.arm(links, dueMs: t0 + 20, kind: 1)
        wheel.arm(links + 1, dueMs: t0 + 20 + 80, kind: 1) // same slot, next lap
        wheel.arm(links + 2, dueMs: t0 + 20 + 3 * 80, kind: 1) // same slot, three laps on
        #expect(Self.expireAll(wheel, links, now: t0 + 25) == [0])
        #expect(Self.expireAll(wheel, links, now: t0 + 99).isEmpty)
        #expect(wheel.armed == 2)
        #expect(Self.expireAll(wheel, links, now: t0 + 100) == [1])
        #expect(Self.expireAll(wheel, links, now: t0 + 259).isEmpty)
        #expect(Self.expireAll(wheel, links, now: t0 + 260) == [2])
    }

    @Test func maxLimitsAndResumesMidSlot() throws {
        let f = try Self.make("wheel-max")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        for i in 0..<5 { wheel.arm(links + i, dueMs: t0 + 30, kind: 1) }
        wheel.arm(links + 5, dueMs: t0 + 60, kind: 1)
        var buffer = [UInt64](repeating: 0, count: 2)
        var got: [Int] = []
        var calls = 0
        while true {
            let n = wheel.expire(nowMs: t0 + 100, into: &buffer)
            calls += 1
            got += buffer[0..<n].map { Self.index(wheel, links, $0) }
            if n < buffer.count { break }
        }
        #expect(calls == 4, "2 + 2 + 2 (one of the 30 ms slot, the 60 ms one) + 0")
        #expect(Set(got[0..<5]) == Set(0..<5), "the slot cut short is finished first")
        #expect(got.last == 5 && got.count == 6)
        var empty: [UInt64] = []
        #expect(wheel.expire(nowMs: t0 + 100, into: &empty) == 0, "an empty buffer takes nothing")
        #expect(wheel.armed == 0 && wheel.firedTotal == 6)
    }

    @Test func aDueTimeInThePastFiresNext() throws {
        let f = try Self.make("wheel-past")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        #expect(Self.expireAll(wheel, links, now: t0 + 200).isEmpty)
        wheel.arm(links, dueMs: t0 + 10, kind: 1) // long before the last processed tick
        wheel.arm(links + 1, dueMs: 1, kind: 1)
        #expect(Self.expireAll(wheel, links, now: t0 + 200).sorted() == [0, 1], "fired by the next call, same clock")
        wheel.arm(links + 2, dueMs: t0 + 209, kind: 1)
        #expect(Self.expireAll(wheel, links, now: t0 + 209) == [2])
    }

    @Test func aLongPauseFiresEverythingOnce() throws {
        let f = try Self.make("wheel-pause")
        let (wheel, links, t0) = (f.wheel, f.links, f.t0)
        for i in 0..<20 { wheel.arm(links + i, dueMs: t0 + UInt64(10 * (i + 1)), kind: 1) } // 2.5 laps
        wheel.arm(links + 20, dueMs: t0 + 2000, kind: 1) // beyond the pause
        let late = t0 + 10 * 80 // ten laps later
        let fired = Self.expireAll(wheel, links, now: late)
        #expect(fired.sorted() == Array(0..<20), "each once")
        #expect(Self.expireAll(wheel, links, now: late).isEmpty)
        #expect(wheel.armed == 1 && wheel.nextDueMs == t0 + 2000)
        // The wheel caught up: a fresh link a few ticks on fires on time, not a lap late.
        wheel.arm(links + 21, dueMs: late + 25, kind: 1)
        #expect(Self.expireAll(wheel, links, now: late + 24).isEmpty)
        #expect(Self.expireAll(wheel, links, now: late + 25) == [21])
        #expect(Self.expireAll(wheel, links, now: t0 + 2000) == [20])
        #expect(wheel.armed == 0 && wheel.firedTotal == 22)
    }

    @Test func installRejectsBadWheels() throws {
        for bad in [(name: "", tickMs: 10, slots: 8), (name: "x", tickMs: 0, slots: 8), (name: "x", tickMs: 10, slots: 6),
                    (name: String(repeating: "n", count: 18), tickMs: 10, slots: 8)] {
            let arena = try Arena.create(name: testArenaName("wheel-bad"), size: 1 << 20)
            defer { try? arena.unlink() }
            #expect(throws: ArenaError.self) { _ = try arena.ref.installTransactions(buckets: 16, wheels: [bad]) }
        }
        let arena = try Arena.create(name: testArenaName("wheel-two"), size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(throws: ArenaError.self) { _ = try arena.ref.installTransactions(buckets: 3, wheels: []) }
        let made = try arena.ref.installTransactions(
            buckets: 64, wheels: [(name: "tm", tickMs: 100, slots: 256), (name: String(repeating: "n", count: 17), tickMs: 1, slots: 1)])
        let found = try arena.ref.transactionSections()
        #expect(found.wheels.map(\.name) == made.wheels.map(\.name))
        #expect(found.wheel(named: "tm")?.slotCount == 256)
        #expect(found.wheel(named: "nope") == nil)
        #expect(found.table(asyncState: nil, onRecoveredLock: { _ in }).bucketCount == 64)
    }
}
