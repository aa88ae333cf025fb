import CShared
import Testing
@testable import Shared

@Suite struct QueueTests {
    /// Runs `body` with a fresh arena holding one queue and an 8-task pool.
    func withQueue(depth: Int, nonblocking: Bool = false, _ body: (ArenaSections) throws -> Void) throws {
        let arena = try Arena.create(name: testArenaName("queue"), size: 4 << 20)
        defer { try? arena.unlink() }
        try body(try arena.ref.install(ArenaLayout(taskPoolCapacity: 8,
                                                   queues: [.init(name: "q", maxDepth: depth, nonblocking: nonblocking)])))
    }

    @Test func fifoOrderAndCounters() throws {
        try withQueue(depth: 100) { s in
        let q = s.queues[0]
        for i in 0..<20 {
            let t = try #require(s.taskPool.newTask())
            t.pointee.words.0 = UInt64(i)
            #expect(q.push(t, nonblocking: true) == .queued)
        }
        #expect(s.taskPool.inUse == 8)
        #expect(q.stats.depth == 20)
        for i in 0..<20 {
            let t = try #require(q.tryTake())
            #expect(t.pointee.words.0 == UInt64(i))
            #expect(t.pointee.enqueued_ns > 0)
            s.taskPool.free(t)
        }
        #expect(q.tryTake() == nil)
        let st = q.stats
        #expect(st.pushed == 20 && st.taken == 20 && st.depth == 0)
        #expect(s.taskPool.inUse == 0)
        #expect(s.taskPool.raw.pointee.overflow_live == 0, "overflow tasks went back to the allocator")
        }
    }

    @Test func nonblockingPushToAFullQueueIsRefused() throws {
        try withQueue(depth: 2, nonblocking: true) { s in
        let q = s.queues[0]
        for _ in 0..<2 { #expect(q.push(try #require(s.taskPool.newTask()), nonblocking: true) == .queued) }
        let extra = try #require(s.taskPool.newTask())
        #expect(q.push(extra, nonblocking: true) == .full)
        #expect(q.stats.refused == 1)
        s.taskPool.free(extra)
        s.taskPool.free(try #require(q.tryTake()))
        #expect(q.push(try #require(s.taskPool.newTask()), nonblocking: true) == .queued)
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
