import CShared
import Testing
@testable import Shared

/// The task codec: every kind survives the queue, a refused push leaves nothing behind,
/// and a task the codec cannot read is reported and freed.
@Suite struct AsyncTaskTests {
    func withQueue(depth: Int, _ body: (ArenaSections) throws -> Void) throws {
        let arena = try Arena.create(name: testArenaName("task"), size: 4 << 20)
        defer { try? arena.unlink() }
        try body(try arena.ref.install(ArenaLayout(queues: [.init(name: "q", maxDepth: depth, nonblocking: true)])))
    }

    @Test func everyKindRoundTripsInOrder() throws {
        try withQueue(depth: 16) { s in
            let q = s.queues[0]
            let baseline = s.arena.counters.live_allocs
            let tasks: [AsyncTask] = [
                .resume(TransactionID(index: 7, label: 0xFFFF_FFFF)),
                .data(route: 3, data: Array("payload é".utf8)),
                .data(route: 0, data: []),
                .tkv(type: -2, key: "k", value: "v=1"),
                .tkv(type: 1 << 40, key: "", value: ""),
            ]
            for t in tasks { #expect(q.push(t, arena: s.arena, nonblocking: true) == .queued) }
            for t in tasks { #expect(q.take(arena: s.arena, timeoutNanoseconds: 0) == .task(t)) }
            #expect(q.take(arena: s.arena, timeoutNanoseconds: 0) == .nothing)
            #expect(s.arena.counters.live_allocs == baseline, "tasks and payload blocks went back")
        }
    }

    @Test func aFullQueueRefusesAndKeepsNothing() throws {
        try withQueue(depth: 1) { s in
            let q = s.queues[0]
            #expect(q.push(.data(route: 1, data: [1, 2, 3]), arena: s.arena, nonblocking: true) == .queued)
            let withOne = s.arena.counters.live_allocs
            #expect(q.push(.tkv(type: 1, key: "a", value: "b"), arena: s.arena, nonblocking: true) == .full)
            #expect(s.arena.counters.live_allocs == withOne, "the refused task and its payload were freed")
            #expect(q.take(arena: s.arena, timeoutNanoseconds: 0) == .task(.data(route: 1, data: [1, 2, 3])))
        }
    }

    @Test func anUnreadableTaskIsReportedAndFreed() throws {
        try withQueue(depth: 4) { s in
            let q = s.queues[0]
            let baseline = s.arena.counters.live_allocs
            let odd = try #require(s.arena.newTask())
            odd.pointee.kind = 99
            #expect(q.push(odd, nonblocking: true) == .queued)
            let badBlock = try #require(s.arena.newTask())
            badBlock.pointee.kind = 2 // data, with a payload offset outside the arena
            badBlock.pointee.words.1 = UInt64(s.arena.size)
            badBlock.pointee.words.2 = 8
            #expect(q.push(badBlock, nonblocking: true) == .queued)
            #expect(q.take(arena: s.arena, timeoutNanoseconds: 0) == .malformed(kind: 99))
            #expect(q.take(arena: s.arena, timeoutNanoseconds: 0) == .malformed(kind: 2))
            #expect(s.arena.counters.live_allocs == baseline)
        }
    }
}
