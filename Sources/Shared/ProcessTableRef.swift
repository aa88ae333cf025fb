import CShared
#if canImport(Glibc)
import Glibc
#endif

/// A view of the process table. The master claims slots before it forks; each child
/// writes its own entry and counters; anyone reads.
public struct ProcessTableRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_proc_table>

    public init(_ raw: UnsafeMutablePointer<cs_proc_table>) { self.raw = raw }

    public var capacity: Int { Int(raw.pointee.capacity) }
    public var count: Int { Int(raw.pointee.count) }

    /// Claims a slot for a process about to be forked (master only). nil when full.
    public func claim(role: ProcessRole, rank: Int, description: String) -> Int32? {
        let index = cs_proc_claim(raw, role.rawValue, Int32(rank), description)
        return index >= 0 ? index : nil
    }

    public func started(slot: Int32, pid: Int32) { cs_proc_started(raw, slot, pid) }
    public func setState(slot: Int32, _ state: ProcessState) { cs_proc_set_state(raw, slot, state.rawValue) }

    @inline(__always)
    public func add(slot: Int32, _ counter: ProcessCounter, _ delta: UInt64 = 1) {
        cs_proc_counter_add(raw, slot, counter.rawValue, delta)
    }

    public func counter(slot: Int32, _ counter: ProcessCounter) -> UInt64 {
        cs_proc_counter_get(raw, slot, counter.rawValue)
    }

    /// A copy of one entry (`slot < count`).
    public func entry(_ slot: Int) -> cs_proc_entry {
        return (UnsafeMutableRawPointer(raw) + MemoryLayout<cs_proc_table>.size)
            .assumingMemoryBound(to: cs_proc_entry.self)[slot]
    }
}

/// What a process of the server is (cs_proc_role); respite-shm and core.psx name it.
public enum ProcessRole: UInt32, Sendable {
    case main = 1
    case udpReceiver = 2
    /// tm's `timer`.
    case tmTimer = 3
    case asyncWorker = 4
    /// The async second ring.
    case asyncTimer = 5
    case asyncMsTimer = 6
    /// Benchmarks and test helpers.
    case helper = 7
    /// `Http Worker`: http_async_client's queries.
    case httpWorker = 8
    /// `tcp main process`: accepts, reads, frames and writes every TCP connection.
    case tcpMain = 9
    /// `tcp receiver (generic) child=N`: runs the script for messages that came over TCP.
    case tcpReceiver = 10
    /// `DNS Worker`: resolves names a receiver's `t_relay` found missing from the DNS
    /// cache, then resumes the suspended transaction (docs/dns.md).
    case dnsWorker = 11
    /// `ctl handler`, `JSONRPCS FIFO`, `JSONRPCS DATAGRAM`: answer management RPCs.
    case rpc = 12
}

/// A process's state in the table (cs_proc_state).
public enum ProcessState: UInt32, Sendable {
    case free = 0
    case starting = 1
    case running = 2
    case exited = 3
}

/// The per-process counters (cs_proc_counter), summed by readers.
public enum ProcessCounter: UInt32, Sendable, CaseIterable {
    /// SIP requests received.
    case requests = 0
    /// SIP replies received.
    case repliesIn = 1
    /// Replies sent.
    case repliesOut = 2
    /// Datagrams that did not parse.
    case parseErrors = 3
    /// Async tasks executed.
    case tasks = 4
    /// Async tasks that found nothing to resume or failed.
    case tasksFailed = 5
    /// Requests relayed.
    case forwarded = 6
    /// Datagrams dropped.
    case dropped = 7
    /// Log lines a rate limit held back; each is counted in a summary line instead.
    case logSuppressed = 8
}

/// Process-wide settings a forked child makes for itself.
public enum ProcessSetup {
    /// Asks the kernel to send `signal` to this process when its parent dies.
    public static func dieWithParent(signal: Int32) { _ = cs_proc_die_with_parent(signal) }

    /// How late the kernel may wake this process's timers (nanoseconds).
    public static func setTimerSlack(nanoseconds: Int) { _ = cs_proc_set_timer_slack(UInt(nanoseconds)) }

    /// Asks the scheduler to prefer this process (a nice value `by` lower; allowed for
    /// root, silently refused otherwise).
    public static func raisePriority(by steps: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -steps)
    }
}
