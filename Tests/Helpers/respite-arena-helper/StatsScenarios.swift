import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// P processes (slots 1...P) each add 1 to statistic "t:hits" N times and 2 to "t:bytes"
/// N times; the parent (slot 0) sums. Then it resets "t:hits" and the children add M
/// more each: the value must be exactly P*M while every row keeps its own total.
func statsSum(_ options: Options) throws {
    let procs = options.int("procs", 4), count = options.int("count", 100_000), more = options.int("more", 1000)
    let arena = try makeArena(options, queues: [])
    defer { try? arena.unlink() }
    let stats = try arena.ref.installStatistics(
        [StatisticDefinition("t", "hits"), StatisticDefinition("t", "bytes"), StatisticDefinition("t", "live", kind: .gauge)],
        processCapacity: 16)
    let hits = try stats.index(of: "t:hits").orThrow("no t:hits")
    let bytes = try stats.index(of: "t:bytes").orThrow("no t:bytes")
    func run(_ n: Int, bytesToo: Bool) throws -> Int {
        var pids: [pid_t] = []
        for p in 1...procs {
            pids.append(try Fork.child {
                // Found once, then a plain add to this process's own row.
                guard let row = stats.row(slot: Int32(p)), let i = stats.index(of: "t:hits") else { return 2 }
                for _ in 0..<n {
                    cs_stats_row_add(row, UInt32(i), 1)
                    if bytesToo { stats.add(slot: Int32(p), index: bytes, delta: 2) }
                }
                return 0
            })
        }
        return pids.filter { Fork.wait($0) != .exited(0) }.count
    }
    var failures = try run(count, bytesToo: true)
    let hitsBefore = stats.value(hits), bytesBefore = stats.value(bytes)
    stats.reset(hits)
    let afterReset = stats.value(hits)
    failures += try run(more, bytesToo: false)
    let row1 = stats.row(slot: 1)![hits]
    report(["failed_processes": failures, "hits": hitsBefore, "expected_hits": procs * count,
            "bytes": bytesBefore, "expected_bytes": 2 * procs * count, "after_reset": afterReset,
            "hits_since_reset": stats.value(hits), "expected_since_reset": procs * more,
            "bytes_after": stats.value(bytes), "row1": row1, "expected_row1": count + more,
            "resets": stats.raw.pointee.resets])
}
