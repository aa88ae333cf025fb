import CShared
import Testing
@testable import Shared

@Suite struct QueueTests {
    /// Runs `body` with a fresh arena holding one queue.
    func withQueue(depth: Int, nonblocking: Bool = false, _ body: (ArenaSections) throws -> Void) throws {
        let arena = try Arena.create(name: testArenaName("queue"), size: 4 << 20)
        defer { try? arena.unlink() }
        try body(try arena.ref.install(ArenaLayout(queues: [.init(name: "q", maxDepth: depth, nonblocking: nonblocking)])))
    }

    @Test func fifoOrderAndCounters() throws {
        try withQueue(depth: 100) { s in
        let q = s.queues[0]
        for i in 0..<20 {
            let t = try #require(s.arena.newTask())
            t.pointee.words.0 = UInt64(i)
            #expect(q.push(t, nonblocking: true) == .queued)
        }
        let liveWithTasks = s.arena.counters.live_allocs
        #expect(q.stats.depth == 20)
        for i in 0..<20 {
            let t = try #require(q.tryTake())
            #expect(t.pointee.words.0 == UInt64(i))
            #expect(t.pointee.enqueued_ns > 0)
            s.arena.freeTask(t)
        }
        #expect(q.tryTake() == nil)
        let st = q.stats
        #expect(st.pushed == 20 && st.taken == 20 && st.depth == 0)
        #expect(s.arena.counters.live_allocs == liveWithTasks - 20, "every task went back to the arena")
        }
    }

    @Test func nonblockingPushToAFullQueueIsRefused() throws {
        try withQueue(depth: 2, nonblocking: true) { s in
        let q = s.queues[0]
        for _ in 0..<2 { #expect(q.push(try #require(s.arena.newTask()), nonblocking: true) == .queued) }
        let extra = try #require(s.arena.newTask())
        #expect(q.push(extra, nonblocking: true) == .full)
        #expect(q.stats.refused == 1)
        s.arena.freeTask(extra)
        s.arena.freeTask(try #require(q.tryTake()))
        #expect(q.push(try #require(s.arena.newTask()), nonblocking: true) == .queued)
        }
    }

    @Test func takeTimesOutOnAnEmptyQueue() throws {
        try withQueue(depth: 4) { s in
        let start = cs_now_ns()
        #expect(s.queues[0].take(timeoutNanoseconds: 20_000_000) == nil)
        #expect(cs_now_ns() - start >= 19_000_000)
        }
    }
}
