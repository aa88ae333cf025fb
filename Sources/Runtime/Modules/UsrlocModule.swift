import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// usrloc's module parameters, with Kamailio's defaults; `contacts_max` is Respite's
/// (the location table has a fixed capacity, docs/modules/usrloc.md).
public struct UsrlocSettings: Sendable {
    public var timerInterval = 60
    public var timerProcesses = 0
    public var useDomain = false
    public var hashSize = 10
    public var contactsMax = 65_536
    public var natBflag = -1

    public init(_ settings: ConfigSettings) {
        if let v = settings.modparamInt("usrloc", "timer_interval") { timerInterval = v }
        if let v = settings.modparamInt("usrloc", "timer_procs") { timerProcesses = v }
        if let v = settings.modparamInt("usrloc", "use_domain") { useDomain = v != 0 }
        if let v = settings.modparamInt("usrloc", "hash_size") { hashSize = v }
        if let v = settings.modparamInt("usrloc", "contacts_max") { contactsMax = v }
        if let v = settings.modparamInt("usrloc", "nat_bflag") { natBflag = v }
    }

    /// The table's buckets, as a power of two: 2^hash_size, raised until a full table
    /// (contacts_max) has at most 8 contacts per bucket on average, so that a lookup
    /// walks a short chain (at 20, the largest hash_size, whatever contacts_max is).
    public var bucketBits: Int {
        var bits = hashSize
        while bits < 20, contactsMax > 8 << bits { bits += 1 }
        return bits
    }

    /// How many `USRLOC Timer` processes the master starts: timer_procs, at least one
    /// (Kamailio's timer_procs 0 runs the job in its core timer; Respite has no core timer
    /// process, and tm's timer may be absent, so one process of its own does it).
    public var timerProcessCount: Int { max(timerProcesses, 1) }
}

/// usrloc: the location table (db_mode 0, memory only). Its functions are registrar's;
/// this module owns the table, its parameters, its timer and the ul.* RPCs.
enum UsrlocModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "usrloc", params: [
            ModuleParamSpec("timer_interval", .int, default: .int(60)) { v in
                if case .int(let n) = v, n < 1 { return "timer_interval must be at least 1 second" }
                return nil
            },
            ModuleParamSpec("timer_procs", .int, default: .int(0)) { v in
                if case .int(let n) = v, !(0...16).contains(n) { return "timer_procs must be between 0 and 16" }
                return nil
            },
            ModuleParamSpec("use_domain", .int, default: .int(0)),
            ModuleParamSpec("hash_size", .int, default: .int(10)) { v in
                if case .int(let n) = v, !LocationTable.hashSizeRange.contains(n) {
                    return "hash_size must be between \(LocationTable.hashSizeRange.lowerBound) and \(LocationTable.hashSizeRange.upperBound)"
                }
                return nil
            },
            ModuleParamSpec("contacts_max", .int, default: .int(65_536)) { v in
                if case .int(let n) = v, !(1...10_000_000).contains(n) { return "contacts_max must be between 1 and 10000000" }
                return nil
            },
            ModuleParamSpec("cseq_delay", .int, default: .int(20)) { v in
                if case .int(let n) = v, n < 0 { return "cseq_delay must not be negative" }
                return nil
            },
            ModuleParamSpec("db_mode", .int, default: .int(0)) { v in
                if case .int(let n) = v, n != 0 {
                    return "db_mode \(n) is not available in Respite yet: the location table lives in shared memory only (db_mode 0)"
                }
                return nil
            },
            ModuleParamSpec("db_url", .string),
            ModuleParamSpec("nat_bflag", .int, default: .int(-1)),
        ])
    }
}

extension MessageContext {
    /// The location table (nil, logged, when usrloc is not loaded).
    var locationTable: LocationTable? {
        guard let t = process.arena.locationTable else {
            process.log.error("registrar", "usrloc is not loaded: there is no location table")
            return nil
        }
        return t
    }
}

/// A `USRLOC Timer` process: every timer_interval seconds, removes the expired contacts
/// of its share of the location table's buckets.
struct UsrlocTimerProcess {
    let process: ProcessContext
    let table: LocationTable
    let interval: Int
    let rank: Int
    let processes: Int

    func run() -> Never {
        while true {
            var ts = timespec(tv_sec: interval, tv_nsec: 0)
            var left = timespec()
            while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
            let removed = table.purgeExpired(share: (rank, processes))
            if removed > 0 { process.log.debug("usrloc", "timer removed \(removed) expired contacts") }
        }
    }
}
