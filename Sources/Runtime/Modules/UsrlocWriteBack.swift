import Database
import Script
import Shared

/// usrloc's database work outside requests:
/// - the preload (db_mode 1 and 2, db_load 1): the master, before it forks, copies the
///   table's live rows into the arena;
/// - the write-back flush (db_mode 2): the `USRLOC Timer` process (rank 0) every
///   timer_interval seconds, and the master once more after its workers stopped, write
///   each contact marked dirty (update by ruid, else insert);
/// - the cleanup (db_mode 1, 2, 3): the timer deletes the rows that have expired.
///
/// Runs in one process at a time per call site, over that process's own connection. The
/// arena table's dirty marks are taken under bucket locks (LocationTable+WriteBack), so
/// a contact saved during a flush stays marked for the next one.
struct UsrlocWriteBack {
    let table: LocationTable
    let database: LocationDatabase
    let mode: Int
    let log: ServerLog

    init?(settings: UsrlocSettings, table: LocationTable, connection: DatabaseConnection?, log: ServerLog) {
        guard settings.dbMode != 0, let connection else { return nil }
        self.table = table
        self.mode = settings.dbMode
        self.log = log
        database = LocationDatabase(connection: connection, table: settings.memoryTable, useDomain: settings.useDomain,
                                    insertUpdate: settings.dbInsertUpdate, updateAsInsert: settings.dbUpdateAsInsert)
    }

    /// A connection made by the master for the preload or the last flush (closed by the caller).
    static func masterConnection(_ settings: ConfigSettings, url: String) -> DatabaseConnection? {
        guard case .success(let parsed) = DatabaseURL.parse(url) else { return nil }
        return DatabaseConnection(url: parsed, options: DatabaseSettings(settings).options(for: parsed))
    }

    /// One timer run: the flush (db_mode 2), then the expired rows' cleanup.
    func timerRun() {
        if mode == 2 { flush() }
        if case .failure(let e) = database.deleteExpired(now: LocationTable.now) {
            table.countDatabase(failed: 1)
            log.error("usrloc", "cannot delete the expired rows of \(database.table) in \(database.connection.url): \(e.message)")
        }
    }

    /// Writes every dirty contact; returns how many were written and how many failed (a
    /// failed one is marked dirty again for the next flush).
    @discardableResult
    func flush() -> (written: Int, failed: Int) {
        var written = 0, failed = 0
        var firstError: DatabaseError?
        let now = LocationTable.now
        for c in table.takeDirty() where !c.isExpired(now: now) {
            if let e = database.upsert(c) {
                failed += 1
                firstError = firstError ?? e
                table.markDirty(aor: c.aor, uri: c.uri)
            } else {
                written += 1
                // Removed while it was being written (removals go to the table at once):
                // the row just written must go too.
                if !table.contacts(of: c.aor).contains(where: { $0.uri == c.uri }) { _ = database.delete(c) }
            }
        }
        table.countDatabase(written: written, failed: failed)
        if let firstError {
            log.error("usrloc", "write-back: \(failed) contacts not written to \(database.table) in \(database.connection.url) (kept for the next flush): \(firstError.message)")
        } else if written > 0 {
            log.debug("usrloc", "write-back: \(written) contacts written to \(database.table)")
        }
        return (written, failed)
    }

    /// Copies the table's live rows into the arena (master, before fork). Returns an
    /// error line when the table cannot be read or the arena cannot hold its rows.
    func preload() -> String? {
        let rows: [LocationTable.Contact]
        switch database.allContacts() {
        case .failure(let e): return "usrloc: cannot load \(database.table) from \(database.connection.url): \(e.message)"
        case .success(let r): rows = r
        }
        let now = LocationTable.now
        var loaded = 0
        for c in rows where !c.isExpired(now: now) {
            let failure = table.contacts(of: c.aor).contains { $0.uri == c.uri } ? table.replace(c) : table.insert(c)
            if let failure {
                return "usrloc: cannot load contact \(c.uri) of \(c.aor) from \(database.table): "
                    + (failure == .full ? "more rows than contacts_max" : "\(failure)")
            }
            loaded += 1
        }
        log.notice("usrloc", "loaded \(loaded) contacts from \(database.table) (\(database.connection.url))")
        return nil
    }
}

extension Master {
    /// usrloc's preload (db_mode 1 and 2 with db_load): the master, before it forks, over
    /// a connection of its own. Returns the critical line when it cannot be done.
    func preloadLocations(_ ul: UsrlocSettings, _ table: LocationTable) -> String? {
        guard ul.dbMode == 1 || ul.dbMode == 2, ul.dbLoad, let url = ul.dbURL,
              let connection = UsrlocWriteBack.masterConnection(program.settings, url: url) else { return nil }
        defer { connection.close() }
        return UsrlocWriteBack(settings: ul, table: table, connection: connection, log: log)?.preload()
    }

    /// usrloc's last write-back (db_mode 2): the master, after every worker stopped, so
    /// that no contact changes meanwhile and every registered contact is in the table.
    func flushLocations(_ context: WorkerContext) {
        guard program.settings.modules.contains("usrloc"), let table = context.arena.locationTable else { return }
        let ul = UsrlocSettings.of(program.settings)
        guard ul.dbMode == 2, let url = ul.dbURL,
              let connection = UsrlocWriteBack.masterConnection(program.settings, url: url) else { return }
        defer { connection.close() }
        guard let writeBack = UsrlocWriteBack(settings: ul, table: table, connection: connection, log: log) else { return }
        let (written, failed) = writeBack.flush()
        log.notice("usrloc", "shutdown write-back: \(written) contacts written to \(ul.memoryTable)\(failed > 0 ? ", \(failed) failed" : "")")
    }
}
