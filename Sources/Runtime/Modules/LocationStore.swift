import Database
import Shared

/// usrloc's contacts as registrar's functions and the ul.* RPCs use them, whatever the
/// db_mode (docs/modules/usrloc.md, "Database modes"):
/// - 0: the arena's location table only;
/// - 1 (write-through): the arena, and each change written to the database at once (a
///   failed write undoes the change in the arena, and save() answers 500);
/// - 2 (write-back): the arena, changes marked dirty and written by the flush
///   (UsrlocWriteBack); removals are written at once;
/// - 3 (database only): the `location` table, nothing kept in the arena (its bucket
///   locks still serialize one AOR's save() within this server).
///
/// Made per call in the calling process (a receiver, an RPC process) over that process's
/// database connection. A database error is logged and counted in the arena table
/// (`db_failed`); reads then return nil, so lookups fail instead of stalling.
struct LocationStore {
    let table: LocationTable
    let mode: Int
    let database: LocationDatabase?
    let log: ServerLog

    enum Failure: Error, Equatable {
        case full, noMemory, database
    }

    /// nil (logged) when usrloc is not loaded or its database URL cannot be used.
    init?(process: ProcessContext, tableName: String) {
        guard let table = process.arena.locationTable else {
            process.log.error("usrloc", "usrloc is not loaded: there is no location table")
            return nil
        }
        let settings = UsrlocSettings.of(process.program.settings)
        self.table = table
        self.mode = settings.dbMode
        self.log = process.log
        if settings.dbMode == 0 {
            database = nil
        } else {
            guard let url = settings.dbURL, let connection = process.databases.connection(url) else { return nil }
            database = LocationDatabase(connection: connection, table: tableName, useDomain: settings.useDomain,
                                        insertUpdate: settings.dbInsertUpdate, updateAsInsert: settings.dbUpdateAsInsert)
        }
    }

    var useDomain: Bool { table.useDomain }

    func withAORLocked<R>(_ aor: String, _ body: () throws -> R) rethrows -> R {
        try table.withAORLocked(aor, body)
    }

    // ---- reads ----

    /// The AOR's contacts (expired ones included); nil after a database error (logged).
    func contacts(of aor: String) -> [LocationTable.Contact]? {
        guard mode == 3, let database else { return table.contacts(of: aor) }
        return read(database.contacts(of: aor), "cannot read the contacts of \(aor)")
    }

    /// Every contact; nil after a database error (logged).
    func allContacts() -> [LocationTable.Contact]? {
        guard mode == 3, let database else { return table.allContacts() }
        return read(database.allContacts(), "cannot read the location table")
    }

    // ---- writes (callers hold the AOR's lock) ----

    /// Adds a new contact. nil when done.
    func insert(_ c: LocationTable.Contact) -> Failure? {
        switch mode {
        case 3:
            return written(database!.insert(c), c)
        case 2:
            var dirty = c
            dirty.dirty = true
            return memory(table.insert(dirty))
        case 1:
            if let f = memory(table.insert(c)) { return f }
            if let f = written(database!.insert(c), c) {
                table.remove(aor: c.aor, uri: c.uri)
                return f
            }
            return nil
        default:
            return memory(table.insert(c))
        }
    }

    /// Replaces `old` (same AOR and address) with `c`. nil when done.
    func replace(_ c: LocationTable.Contact, old: LocationTable.Contact) -> Failure? {
        switch mode {
        case 3:
            return written(database!.upsert(c), c)
        case 2:
            var dirty = c
            dirty.dirty = true
            return memory(table.replace(dirty))
        case 1:
            if let f = memory(table.replace(c)) { return f }
            if let f = written(database!.upsert(c), c) {
                table.replace(old)
                return f
            }
            return nil
        default:
            return memory(table.replace(c))
        }
    }

    /// Removes one contact; false when it was not there or the database refused.
    @discardableResult
    func remove(_ c: LocationTable.Contact) -> Bool {
        if mode == 3 {
            return (read(database!.delete(c), "cannot delete contact \(c.uri) of \(c.aor)") ?? 0) > 0
        }
        guard table.remove(aor: c.aor, uri: c.uri) else { return false }
        if let database { _ = read(database.delete(c), "cannot delete contact \(c.uri) of \(c.aor)") }
        return true
    }

    /// Removes every contact of an AOR; returns how many (nil: database error).
    @discardableResult
    func remove(aor: String) -> Int? {
        if mode == 3 { return read(database!.delete(aor: aor), "cannot delete the contacts of \(aor)") }
        let n = table.remove(aor: aor)
        if let database, n > 0 { _ = read(database.delete(aor: aor), "cannot delete the contacts of \(aor)") }
        return n
    }

    // ---- helpers ----

    private func read<T>(_ r: Result<T, DatabaseError>, _ what: String) -> T? {
        switch r {
        case .success(let v): return v
        case .failure(let e):
            table.countDatabase(failed: 1)
            log.error("usrloc", "\(what) in \(database?.connection.url.description ?? "the database"): \(e.message)")
            return nil
        }
    }

    private func written(_ e: DatabaseError?, _ c: LocationTable.Contact) -> Failure? {
        guard let e else { return nil }
        return written(Result<Int, DatabaseError>.failure(e), c)
    }

    private func written(_ r: Result<Int, DatabaseError>, _ c: LocationTable.Contact) -> Failure? {
        read(r, "cannot write contact \(c.uri) of \(c.aor)") == nil ? .database : nil
    }

    private func memory(_ f: LocationTable.Failure?) -> Failure? {
        switch f {
        case nil: return nil
        case .full?: return .full
        default: return .noMemory
        }
    }
}
