import CShared
import Testing
@testable import Shared

@Suite struct AllocatorTests {
    @Test func randomChurnReturnsToBaseline() throws {
        let arena = try Arena.create(name: testArenaName("churn"), size: 16 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        let before = ref.counters
        var live: [UnsafeMutableRawPointer] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            if !live.isEmpty && Bool.random(using: &rng) {
                ref.free(live.remove(at: Int.random(in: 0..<live.count, using: &rng)))
            } else {
                let size = Int.random(in: 1...9000, using: &rng)
                let p = try #require(ref.allocate(size))
                #expect(Int(bitPattern: p) % 16 == 0)
                #expect(cs_alloc_usable_size(ref.header, p) >= size)
                p.initializeMemory(as: UInt8.self, repeating: 0xAB, count: size)
                live.append(p)
            }
        }
        let middle = ref.check()
        #expect(middle.error_offset == 0)
        #expect(middle.used_blocks == UInt64(live.count) + before.live_allocs)
        for p in live { ref.free(p) }
        let after = ref.counters
        #expect(after.used_bytes == before.used_bytes)
        #expect(after.live_allocs == before.live_allocs)
        #expect(after.free_blocks == 1, "everything coalesced back into one block")
        #expect(ref.check().largest_free == after.free_bytes)
    }

    @Test func exhaustionIsAValue() throws {
        let arena = try Arena.create(name: testArenaName("full"), size: 1 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        var blocks: [UnsafeMutableRawPointer] = []
        while let p = ref.allocate(4096) { blocks.append(p) }
        #expect(blocks.count > 200)
        #expect(ref.allocate(4096) == nil)
        #expect(ref.counters.failed_allocs >= 1)
        #expect(throws: ArenaError.outOfMemory(requested: 1 << 30)) { _ = try ref.allocateOrThrow(1 << 30) }
        for p in blocks { ref.free(p) }
        #expect(ref.allocate(4096) != nil)
    }

    @Test func freeCoalescesNeighbours() throws {
        let arena = try Arena.create(name: testArenaName("merge"), size: 1 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        let base = ref.counters.free_blocks
        let a = try #require(ref.allocate(100)), b = try #require(ref.allocate(100)), c = try #require(ref.allocate(100))
        ref.free(a)
        ref.free(c)   // c merges with the tail block
        #expect(ref.counters.free_blocks == base + 1)
        ref.free(b)   // b merges with both
        #expect(ref.counters.free_blocks == base)
    }

    @Test func smallBlocksGoThroughBinsAndDrainBack() throws {
        let arena = try Arena.create(name: testArenaName("bins"), size: 4 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        let before = ref.counters
        var blocks: [UnsafeMutableRawPointer] = []
        for i in 0..<200 { blocks.append(try #require(ref.allocate(8 + (i % 64) * 16))) }
        for p in blocks { ref.free(p) }
        var binned: UInt64 = 0, bytes: UInt64 = 0
        #expect(cs_alloc_binned(ref.base, UInt64(ref.size), &binned, &bytes) == 0)
        #expect(binned == 200, "freed small blocks wait in the bins")
        // A reused size comes straight back out of its bin.
        let again = try #require(ref.allocate(8))
        #expect(blocks.contains(again))
        ref.free(again)
        // Exact statistics drain the bins first.
        let after = ref.counters
        #expect(after.used_bytes == before.used_bytes)
        #expect(after.live_allocs == before.live_allocs)
        #expect(cs_alloc_binned(ref.base, UInt64(ref.size), &binned, &bytes) == 0 && binned == 0)
    }

    @Test func binnedMemoryIsReturnedWhenTheHeapRunsShort() throws {
        let arena = try Arena.create(name: testArenaName("short"), size: 1 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        var small: [UnsafeMutableRawPointer] = []
        while let p = ref.allocate(1000) { small.append(p) }
        for p in small { ref.free(p) } // all of it now sits in one bin
        let big = ref.allocate(512 << 10)
        #expect(big != nil, "the bins were drained and coalesced to serve a large request")
        ref.free(big)
    }

    @Test func debugModeCatchesOverruns() throws {
        let arena = try Arena.create(name: testArenaName("fence"), size: 1 << 20, debug: true)
        defer { try? arena.unlink() }
        let ref = arena.ref
        let p = try #require(ref.allocate(24))
        #expect(ref.check().fence_errors == 0)
        var visited = 0
        cs_alloc_visit_live(ref.header, { ctx, _, _, debug in
            if let d = debug, d.pointee.requested == 24 { ctx!.assumingMemoryBound(to: Int.self).pointee += 1 }
        }, &visited)
        #expect(visited == 1, "the debug head records the requested size")
        (p + 24).storeBytes(of: 0xFF, as: UInt8.self) // one byte past the end
        #expect(ref.check().fence_errors == 1)
        ref.free(p)
        #expect(ref.counters.fence_errors == 1)
    }
}
