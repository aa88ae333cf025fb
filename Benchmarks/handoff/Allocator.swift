import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Alloc/free pairs per second with a moving window of 64 live blocks of 16-1024 bytes
/// (the sizes SIP messages, tasks and transaction pieces need).
struct AllocResult {
    var name: String
    var processes: Int
    var pairs: Int
    var seconds: Double
}

@inline(__always)
func churn(pairs: Int, seed: UInt64, allocate: (Int) -> UnsafeMutableRawPointer?, free: (UnsafeMutableRawPointer?) -> Void) {
    var rng = seed | 1
    var window = [UnsafeMutableRawPointer?](repeating: nil, count: 64)
    for i in 0..<pairs {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        let slot = i & 63
        free(window[slot])
        let p = allocate(Int(rng % 1009) + 16)
        p?.storeBytes(of: UInt8(truncatingIfNeeded: i), as: UInt8.self)
        window[slot] = p
    }
    for p in window { free(p) }
}

func runAllocator(pairs: Int) throws -> [AllocResult] {
    let arena = try Arena.create(name: "/respite-bench-alloc-\(getpid())", size: 64 << 20)
    try? arena.unlink()
    let ref = arena.ref
    _ = try ref.install(ArenaLayout(processCapacity: 4))
    var results: [AllocResult] = []

    // Each process uses its own allocator cache, as server processes do.
    ref.attachAllocatorCache(slot: 0)
    var start = cs_now_ns()
    churn(pairs: pairs, seed: 7, allocate: { ref.allocate($0) }, free: { ref.free($0) })
    cs_alloc_cache_detach()
    results.append(.init(name: "arena", processes: 1, pairs: pairs, seconds: Double(cs_now_ns() - start) / 1e9))

    start = cs_now_ns()
    churn(pairs: pairs, seed: 7, allocate: { malloc($0) }, free: { Glibc.free($0) })
    results.append(.init(name: "glibc-malloc", processes: 1, pairs: pairs, seconds: Double(cs_now_ns() - start) / 1e9))

    start = cs_now_ns()
    let pids = try (0..<2).map { p in
        try Fork.child {
            ref.attachAllocatorCache(slot: Int32(p + 1))
            churn(pairs: pairs, seed: UInt64(p + 11), allocate: { ref.allocate($0) }, free: { ref.free($0) })
            return 0
        }
    }
    for pid in pids { _ = Fork.wait(pid) }
    results.append(.init(name: "arena", processes: 2, pairs: 2 * pairs, seconds: Double(cs_now_ns() - start) / 1e9))
    return results
}
