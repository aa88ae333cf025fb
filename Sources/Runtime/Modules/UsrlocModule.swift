import Database
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
    /// 0 memory, 1 write-through, 2 write-back, 3 database only (LocationStore).
    public var dbMode = 0
    public var dbURL: String?
    public var dbInsertUpdate = false
    public var dbUpdateAsInsert = false
    /// db_load: modes 1 and 2 load the table into the arena at start (the preload).
    public var dbLoad = true
    /// The table of the in-memory domain in modes 1 and 2: `preload`, else "location".
    public var memoryTable = "location"

    public init(_ settings: ConfigSettings) {
        if let v = settings.modparamInt("usrloc", "timer_interval") { timerInterval = v }
        if let v = settings.modparamInt("usrloc", "timer_procs") { timerProcesses = v }
        if let v = settings.modparamInt("usrloc", "use_domain") { useDomain = v != 0 }
        if let v = settings.modparamInt("usrloc", "hash_size") { hashSize = v }
        if let v = settings.modparamInt("usrloc", "contacts_max") { contactsMax = v }
        if let v = settings.modparamInt("usrloc", "nat_bflag") { natBflag = v }
        if let v = settings.modparamInt("usrloc", "db_mode") { dbMode = v }
        if case .string(let s)? = settings.modparam("usrloc", "db_url"), !s.isEmpty { dbURL = s }
        if let v = settings.modparamInt("usrloc", "db_insert_update") { dbInsertUpdate = v != 0 }
        if let v = settings.modparamInt("usrloc", "db_update_as_insert") { dbUpdateAsInsert = v != 0 }
        if let v = settings.modparamInt("usrloc", "db_load") { dbLoad = v != 0 }
        if case .string(let s)? = settings.modparam("usrloc", "preload"), !s.isEmpty { memoryTable = s }
    }

    /// The settings read when the config loaded (UsrlocModule's parameter check).
    static func of(_ settings: ConfigSettings) -> UsrlocSettings {
        settings.derived["usrloc"] as? UsrlocSettings ?? UsrlocSettings(settings)
    }

    /// usrloc's line of DatabaseStartupCheck: the location table when a db_mode needs it.
    static func databaseRequirement(_ settings: ConfigSettings) -> DatabaseRequirement? {
        guard settings.modules.contains("usrloc") else { return nil }
        let ul = of(settings)
        guard ul.dbMode != 0, let url = ul.dbURL else { return nil }
        return DatabaseRequirement(module: "usrloc", url: url, tables: [ul.memoryTable])
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

/// usrloc: the location table, in shared memory and/or a database (db_mode 0-3,
/// LocationStore). Its functions are registrar's; this module owns the table, its
/// parameters, its timer, the write-back and the ul.* RPCs.
enum UsrlocModule {
    static var spec: ModuleSpec {
        var spec = ModuleSpec(name: "usrloc", params: [
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
                if case .int(let n) = v, !(0...3).contains(n) {
                    return n == 4 ? "db_mode 4 (load only) is not available in Respite: use 0, 1, 2 or 3" : "db_mode must be 0, 1, 2 or 3"
                }
                return nil
            },
            ModuleParamSpec("db_url", .string, validate: DatabaseModules.validateURL),
            ModuleParamSpec("db_insert_update", .int, default: .int(0)),
            ModuleParamSpec("db_update_as_insert", .int, default: .int(0)),
            ModuleParamSpec("db_load", .int, default: .int(1)),
            ModuleParamSpec("preload", .string) { v in
                LocationDatabase.isIdentifier(v.text) ? nil : "preload names a table: letters, digits, '_' and '.' only"
            },
            ModuleParamSpec("nat_bflag", .int, default: .int(-1)),
        ])
        spec.checkParams = { (context: inout ModuleParamsContext) in
            let ul = UsrlocSettings(context.settings)
            if ul.dbMode != 0, ul.dbURL == nil {
                let at = context.entries.first { $0.param == "db_mode" }?.location
                if let at { context.error("db_mode \(ul.dbMode) needs a database: set modparam(\"usrloc\", \"db_url\", ...)", at: at) }
            }
            context.derived = ul
        }
        return spec
    }
}

extension MessageContext {
    /// usrloc's contacts for the table a registrar function names (nil, logged, when
    /// usrloc is not loaded or its database cannot be used).
    func locationStore(_ table: String) -> LocationStore? {
        let name = table.isEmpty ? "location" : table
        if let store = process.registrar.locationStores[name] { return store }
        // Not kept when it cannot be made (a database that cannot be opened yet).
        let store = LocationStore(process: process, tableName: name)
        process.registrar.locationStores[name] = store
        return store
    }
}

/// A `USRLOC Timer` process: every timer_interval seconds, removes the expired contacts
/// of its share of the location table's buckets; with a database (rank 0 only), writes
/// back the dirty contacts (db_mode 2) and deletes the expired rows (db_mode 2 and 3).
struct UsrlocTimerProcess {
    let process: ProcessContext
    let table: LocationTable
    let interval: Int
    let rank: Int
    let processes: Int
    let writeBack: UsrlocWriteBack?

    func run() -> Never {
        while true {
            var ts = timespec(tv_sec: interval, tv_nsec: 0)
            var left = timespec()
            while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
            let removed = table.purgeExpired(share: (rank, processes))
            if removed > 0 { process.log.debug("usrloc", "timer removed \(removed) expired contacts") }
            if rank == 0, let writeBack { writeBack.timerRun() }
        }
    }
}
