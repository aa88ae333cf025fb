// respite-bench-handoff: moving tasks between processes through the arena's queue,
// against the mechanism Kamailio's async framework uses (a task pointer written into
// a Unix datagram socketpair shared by the group's workers), in one run; plus the
// arena allocator against glibc malloc.
//
// Each result is one line of `key=value` pairs. Run a release build (`make bench`).
import Shared
#if canImport(Glibc)
import Glibc
#endif

let args = Array(CommandLine.arguments.dropFirst())
let quick = args.contains("--quick")
func argument(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}
let tasks = argument("--tasks", quick ? 100_000 : 1_000_000)
let wakeups = argument("--wakeups", quick ? 500 : 3_000)
let allocPairs = argument("--alloc-pairs", quick ? 500_000 : 5_000_000)

do {
    for (producers, consumers) in [(1, 1), (1, 2), (3, 1), (3, 2)] {
        for mechanism in Mechanism.allCases {
            let r = try runThroughput(mechanism, producers: producers, consumers: consumers, tasks: tasks)
            print("handoff mech=\(mechanism.rawValue) producers=\(producers) consumers=\(consumers) tasks=\(tasks) seconds=\(format(r.seconds)) tasks_per_s=\(Int(Double(tasks) / r.seconds))")
            fflush(nil)
        }
    }
    for mechanism in Mechanism.allCases {
        let h = try runWakeup(mechanism, samples: wakeups)
        print("wakeup mech=\(mechanism.rawValue) samples=\(wakeups) p50_us=\(format(h.p50)) p99_us=\(format(h.p99)) max_us=\(format(h.max))")
        fflush(nil)
    }
    for r in try runAllocator(pairs: allocPairs) {
        print("alloc impl=\(r.name) procs=\(r.processes) pairs=\(r.pairs) pairs_per_s=\(Int(Double(r.pairs) / r.seconds))")
        fflush(nil)
    }
} catch {
    Posix.printError("respite-bench-handoff: \(error)")
    exit(1)
}

func format(_ x: Double) -> String {
    let scaled = (x * 10).rounded() / 10
    return String(scaled)
}
