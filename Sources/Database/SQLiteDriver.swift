import CSQLite

/// db_sqlite: one open SQLite file. Statements are prepared once and kept (keyed by their
/// text), so a lookup that runs for every request is only bound and stepped. A file locked
/// by another process is retried for `sqliteBusyTimeoutMs`, then the statement fails.
final class SQLiteDriver: DatabaseDriver {
    private var db: OpaquePointer?
    private var prepared: [String: OpaquePointer] = [:]
    let path: String

    /// Prepared statements kept per connection; past this the cache starts over (a script
    /// that builds its SQL from values would otherwise grow it without end).
    static let preparedLimit = 256

    init(url: DatabaseURL, options: DatabaseOptions) throws(DatabaseError) {
        path = url.database
        var flags = options.sqliteReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if options.sqliteCreate && !options.sqliteReadOnly { flags |= SQLITE_OPEN_CREATE }
        // Each process opens its own connection after fork; no connection is shared
        // between threads, so SQLite's own mutexes are not needed.
        flags |= SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let why = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close(db)
            self.db = nil
            throw DatabaseError(.connection, "cannot open the SQLite file \(path): \(why)")
        }
        sqlite3_busy_timeout(db, Int32(options.sqliteBusyTimeoutMs))
        sqlite3_extended_result_codes(db, 1)
        if let mode = options.sqliteJournalMode {
            let valid = ["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"]
            guard valid.contains(mode.uppercased()) else {
                close()
                throw DatabaseError(.url, "unknown SQLite journal mode '\(mode)' (\(valid.joined(separator: ", ")))")
            }
            _ = try run("PRAGMA journal_mode=\(mode.uppercased())", [])
        }
    }

    var isUsable: Bool { db != nil }

    func close() {
        for statement in prepared.values { sqlite3_finalize(statement) }
        prepared.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    func run(_ sql: String, _ parameters: [DatabaseValue]) throws(DatabaseError) -> DatabaseRows {
        guard let db else { throw DatabaseError(.connection, "the SQLite file \(path) is closed") }
        let statement = try statement(for: sql, db)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw DatabaseError(.statement, "the statement has \(expected) parameters, \(parameters.count) given: \(sql)")
        }
        for (i, value) in parameters.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .int(let n): rc = sqlite3_bind_int64(statement, index, n)
            case .double(let d): rc = sqlite3_bind_double(statement, index, d)
            // The byte count, not -1: a NUL inside the value is data, not its end.
            case .text(let s): rc = sqlite3_bind_text(statement, index, s, Int32(clamping: s.utf8.count), csqlite_transient)
            case .blob(let b): rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), csqlite_transient) }
            }
            guard rc == SQLITE_OK else { throw failure(rc, db, sql) }
        }
        var result = DatabaseRows()
        let columns = sqlite3_column_count(statement)
        result.columns = (0..<columns).map { String(cString: sqlite3_column_name(statement, $0)) }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc, db, sql) }
            result.rows.append((0..<columns).map { column(statement, $0) })
        }
        if columns == 0 { result.changes = Int(sqlite3_changes(db)) }
        return result
    }

    private func statement(for sql: String, _ db: OpaquePointer) throws(DatabaseError) -> OpaquePointer {
        if let kept = prepared[sql] { return kept }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc, db, sql) }
        if prepared.count >= Self.preparedLimit {
            for kept in prepared.values { sqlite3_finalize(kept) }
            prepared.removeAll()
        }
        prepared[sql] = statement
        return statement
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> DatabaseValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let bytes = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(cString: bytes))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func failure(_ rc: Int32, _ db: OpaquePointer, _ sql: String) -> DatabaseError {
        let message = String(cString: sqlite3_errmsg(db))
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return DatabaseError(.busy, "the SQLite file \(path) stayed locked: \(message)")
        case SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_CANTOPEN:
            return DatabaseError(.statement, "SQLite \(path): \(message)")
        default:
            return DatabaseError(.statement, "SQLite \(path): \(message) (in: \(sql))")
        }
    }
}
