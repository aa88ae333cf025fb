import TestSupport
import Testing

/// Scenarios that need several processes; `respite-arena-helper` forks them (the test
/// runner itself never forks) and prints what it saw.
@Suite(.serialized) struct MultiProcessTests {
    @Test(arguments: [(1, 1), (3, 2)])
    func everyTaskArrivesExactlyOnce(producers: Int, consumers: Int) throws {
        let r = try Products.run("respite-arena-helper", ["queue-stress", "--producers", "\(producers)",
                                                             "--consumers", "\(consumers)", "--tasks", "1000000"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["missing"] == "0")
        #expect(v["duplicates"] == "0")
        #expect(v["failed_processes"] == "0")
        #expect(v["depth"] == "0")
        #expect(v["used_before"] == v["used_after"])
        #expect(v["live_before"] == v["live_after"])
    }

    @Test func aKilledLockHolderDoesNotWedgeTheNextLocker() throws {
        let r = try Products.run("respite-arena-helper", ["lock-kill"], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["holder_was"] == "child")
        #expect(v["holder_exit"] == "sigkill")
        #expect(v["parent_lock"] == "recovered")
        #expect(v["next_lock"] == "clean")
        #expect(v["recoveries"] == "1")
    }

    @Test func aKilledProcessesAllocatorCacheIsReclaimed() throws {
        let r = try Products.run("respite-arena-helper", ["cache-reclaim"], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["cached_blocks"] == "40")
        #expect(v["stranded_live"] == "40", "the dead child's cached blocks are still allocated")
        #expect(v["reclaimed"] == "40")
        #expect(v["used_before"] == v["used_after"])
        #expect(v["live_before"] == v["live_after"])
    }

    @Test(arguments: ["0", "1"])
    func allocatorChurnAcrossProcessesReturnsToBaseline(debug: String) throws {
        let r = try Products.run("respite-arena-helper", ["alloc-churn", "--procs", "2", "--iterations", "200000", "--debug", debug], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["failed_processes"] == "0")
        #expect(v["used_before"] == v["used_after"])
        #expect(v["live_before"] == v["live_after"])
        #expect(v["free_blocks_before"] == v["free_blocks_after"])
        #expect(v["walk_error"] == "0")
        #expect(v["fence_errors"] == "0")
        #expect(Int(v["allocs"] ?? "0")! > 100_000)
    }
}
