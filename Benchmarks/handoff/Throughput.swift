import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

enum Mechanism: String, CaseIterable {
    case arenaQueue = "arena-queue"
    case socketpair = "socketpair"
}

let stopKind: UInt32 = 0xDEAD

/// A bench arena: one queue, a task pool, and a control block of shared words.
final class Bench {
    let arena: Arena
    let queue: TaskQueueRef
    let ref: ArenaRef
    /// words[0]: start flag; words[1]: tasks consumed; words[2...]: samples.
    let words: UnsafeMutablePointer<UInt64>
    /// The socketpair for the Kamailio-style mechanism: [0] read by workers, [1] written.
    let sockets: (Int32, Int32)

    init(samples: Int = 0) throws {
        let arena = try Arena.create(name: "/respite-bench-\(getpid())", size: 128 << 20)
        try? arena.unlink() // the mapping stays; nothing is left in /dev/shm
        let sections = try arena.ref.install(ArenaLayout(processCapacity: 8, queues: [.init(name: "bench", maxDepth: 4096)]))
        arena.ref.setReady()
        words = try arena.ref.allocateOrThrow((2 + samples) * 8).bindMemory(to: UInt64.self, capacity: 2 + samples)
        words.initialize(repeating: 0, count: 2 + samples)
        queue = sections.queues[0]
        ref = arena.ref
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds) == 0 else {
            throw SystemCallError("socketpair", errno: errno)
        }
        sockets = (fds[0], fds[1])
        self.arena = arena
    }

    deinit {
        close(sockets.0)
        close(sockets.1)
    }

    func waitForStart() {
        while cs_atomic_load_u64(words) == 0 { sched_yield() }
    }

    func send(_ task: UnsafeMutablePointer<cs_task>, via mechanism: Mechanism) {
        switch mechanism {
        case .arenaQueue:
            _ = queue.push(task, nonblocking: false)
        case .socketpair:
            var address = UInt64(UInt(bitPattern: task))
            while Glibc.send(sockets.1, &address, 8, 0) < 0 && errno == EINTR {}
        }
    }

    func receive(via mechanism: Mechanism) -> UnsafeMutablePointer<cs_task>? {
        switch mechanism {
        case .arenaQueue:
            return queue.take()
        case .socketpair:
            var address: UInt64 = 0
            while true {
                let n = recv(sockets.0, &address, 8, 0)
                if n == 8 { return UnsafeMutablePointer(bitPattern: UInt(address)) }
                if n < 0 && errno == EINTR { continue }
                return nil
            }
        }
    }
}

/// Moves `tasks` tasks from P producer processes to C consumer processes.
func runThroughput(_ mechanism: Mechanism, producers: Int, consumers: Int, tasks: Int) throws -> (seconds: Double, consumed: UInt64) {
    let bench = try Bench()
    var pids: [pid_t] = []
    for c in 0..<consumers {
        pids.append(try Fork.child {
            bench.ref.attachAllocatorCache(slot: Int32(c))
            bench.waitForStart()
            var n: UInt64 = 0
            while let t = bench.receive(via: mechanism) {
                let stop = t.pointee.kind == stopKind
                bench.ref.freeTask(t)
                if stop { break }
                n += 1
            }
            _ = cs_atomic_add_u64(bench.words + 1, n)
            return 0
        })
    }
    var producerPIDs: [pid_t] = []
    for p in 0..<producers {
        let share = tasks / producers + (p < tasks % producers ? 1 : 0)
        producerPIDs.append(try Fork.child {
            bench.ref.attachAllocatorCache(slot: Int32(consumers + p))
            bench.waitForStart()
            for i in 0..<share {
                guard let t = bench.ref.newTask() else { return 3 }
                t.pointee.kind = 1
                t.pointee.words.0 = UInt64(i)
                bench.send(t, via: mechanism)
            }
            return 0
        })
    }
    usleep(50_000) // let every child reach the start line
    let start = cs_now_ns()
    cs_atomic_store_u64(bench.words, 1)
    for pid in producerPIDs { _ = Fork.wait(pid) }
    for _ in 0..<consumers {
        guard let t = bench.ref.newTask() else { throw ArenaError.outOfMemory(requested: 64) }
        t.pointee.kind = stopKind
        bench.send(t, via: mechanism)
    }
    for pid in pids { _ = Fork.wait(pid) }
    let seconds = Double(cs_now_ns() - start) / 1e9
    let consumed = cs_atomic_load_u64(bench.words + 1)
    if consumed != UInt64(tasks) { Posix.printError("warning: \(mechanism) consumed \(consumed) of \(tasks)") }
    if mechanism == .arenaQueue, CommandLine.arguments.contains("--verbose") {
        let st = bench.queue.stats
        Posix.printError("  queue: consumer sleeps \(st.wakeups), producer waits for room \(st.waited_full)")
    }
    return (seconds, consumed)
}
