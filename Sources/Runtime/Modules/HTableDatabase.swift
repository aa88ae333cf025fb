import Database
import Script
import Shared

/// htable's tables in a database, as Kamailio 5.6 keeps them: a hash table defined with
/// `dbtable=NAME` is filled from that table at start, by the master before it forks (so
/// every process sees the rows), and with `dbmode=1` written back by the master when the
/// server stops, after the workers are gone (the rows replaced by the items left). Rows:
/// `key_name`, `key_type` (0 a key, 1 an array: `name[0]`, `name[1]`... plus
/// `name::size`), `value_type` (0 text, 1 integer), `key_value`, `expires` (absolute Unix
/// time, read and written with `db_expires=1` for tables with `autoexpire`). Column names
/// are htable's `*_column` parameters. `htable.reload` and `sht_reload` load again in the
/// calling process. Read-only settings; the connections are the caller's.
struct HTableDatabase: Sendable {
    let url: String
    let keyName: String, keyType: String, valueType: String, keyValue: String, expires: String
    let arraySuffix: String
    let loadExpires: Bool
    /// The hash tables that have a `dbtable`.
    let specs: [HashTableSpec]

    init?(_ settings: ConfigSettings) {
        guard settings.modules.contains("htable"), case .string(let url)? = settings.modparam("htable", "db_url") else { return nil }
        self.url = url
        func column(_ name: String, _ fallback: String) -> String { settings.modparam("htable", name)?.text ?? fallback }
        keyName = column("key_name_column", "key_name")
        keyType = column("key_type_column", "key_type")
        valueType = column("value_type_column", "value_type")
        keyValue = column("key_value_column", "key_value")
        expires = column("expires_column", "expires")
        arraySuffix = column("array_size_suffix", "::size")
        loadExpires = settings.modparamInt("htable", "db_expires") == 1
        specs = (settings.modparams["htable"]?["htable"] ?? []).compactMap { try? HashTableSpec.parse($0.text) }
            .filter { $0.dbTable != nil }
    }

    /// The start-up check: the URL and the tables named by `dbtable`.
    static func requirements(_ settings: ConfigSettings) -> [DatabaseRequirement] {
        guard let db = HTableDatabase(settings), !db.specs.isEmpty else { return [] }
        return [DatabaseRequirement(module: "htable", url: db.url, tables: db.specs.compactMap(\.dbTable))]
    }

    /// Fills `table` from its database table (emptied first when `replace`); the number
    /// of items loaded, or why not.
    func load(_ spec: HashTableSpec, into table: HashTableRef, _ db: DatabaseConnection, replace: Bool = false) -> Result<Int, DatabaseError> {
        guard let name = spec.dbTable else { return .success(0) }
        let withExpiry = loadExpires && spec.autoexpireSeconds > 0
        // Rows in the order the table keeps them (arrays are numbered in that order).
        let sql = "SELECT \(keyName), \(keyType), \(valueType), \(keyValue)\(withExpiry ? ", \(expires)" : "") FROM \(name)"
        let rows: DatabaseRows
        switch db.query(sql, []) {
        case .success(let r): rows = r
        case .failure(let e): return .failure(e)
        }
        if replace { table.reset() }
        let now = Self.wallClock()
        var arrays: [String: Int] = [:]
        var loaded = 0
        for row in rows.rows {
            guard let key = row[0].text, !key.isEmpty else { continue }
            let text = row[3].text ?? ""
            let value: SharedValue
            if row[2].int == 1 {
                guard let n = Int(text) else {
                    return .failure(DatabaseError(.statement, "\(name): key '\(key)' has value_type 1 but its value '\(text)' is not an integer"))
                }
                value = .int(n)
            } else {
                value = .string(text)
            }
            var expiry = 0
            if withExpiry, let at = row[4].int, at > 0 {
                if Double(at) <= now { continue }
                expiry = max(1, Int((Double(at) - now).rounded()))
            }
            var itemKey = key
            if row[1].int == 1 {
                let index = arrays[key, default: 0]
                arrays[key] = index + 1
                itemKey = "\(key)[\(index)]"
            }
            guard table.set(itemKey, value) else {
                return .failure(DatabaseError(.statement, "\(name): the arena is full after \(loaded) items"))
            }
            if expiry > 0 { table.setExpiry(itemKey, seconds: expiry) }
            loaded += 1
        }
        for (key, count) in arrays { table.set(key + arraySuffix, .int(count)) }
        return .success(loaded)
    }

    /// Replaces the rows of `spec`'s table by the items of `table`, in one transaction.
    func store(_ spec: HashTableSpec, from table: HashTableRef, _ db: DatabaseConnection) -> Result<Int, DatabaseError> {
        guard let name = spec.dbTable else { return .success(0) }
        let withExpiry = loadExpires && spec.autoexpireSeconds > 0
        let now = Self.wallClock()
        let columns = [keyName, keyType, valueType, keyValue] + (withExpiry ? [expires] : [])
        let insert = "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var stored = 0
        do throws(DatabaseError) {
            try db.transaction { () throws(DatabaseError) in
                _ = try db.execute("DELETE FROM \(name)").get()
                for item in table.items() {
                    var values: [DatabaseValue] = [.text(item.key), .int(0)]
                    switch item.value {
                    case .int(let n): values += [.int(1), .text(String(n))]
                    case .string(let s): values += [.int(0), .text(s)]
                    case .null: continue
                    }
                    if withExpiry {
                        let remaining = table.expiryMilliseconds(of: item.key) ?? 0
                        values.append(.int(remaining == 0 ? 0 : Int64((now + Double(remaining) / 1000).rounded())))
                    }
                    _ = try db.execute(insert, values).get()
                    stored += 1
                }
            }
        } catch {
            return .failure(error)
        }
        return .success(stored)
    }
}

extension HTableDatabase {
    /// Seconds since 1970 with their fraction: an item's expiry is kept in the arena as
    /// time left, so the absolute time in the `expires` column is converted both ways
    /// against the same clock, to the nearest second.
    static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The master, before it forks: every `dbtable` loaded on a connection of its own
    /// (closed again). Returns why the server cannot start, or nil.
    static func loadAtStart(_ settings: ConfigSettings, tables: HashTablesRef, log: ServerLog) -> String? {
        guard let db = HTableDatabase(settings), !db.specs.isEmpty, let connection = db.connection(settings) else { return nil }
        defer { connection.close() }
        for spec in db.specs {
            guard let table = tables.table(named: spec.name) else { continue }
            switch db.load(spec, into: table, connection) {
            case .success(let n): log.info("htable", "loaded \(n) items into '\(spec.name)' from table '\(spec.dbTable ?? "")'")
            case .failure(let e): return "htable: cannot load '\(spec.name)' from \(connection.url): \(e.message)"
            }
        }
        return nil
    }

    /// The master, once the workers have stopped: the `dbmode=1` tables written back.
    static func storeAtStop(_ settings: ConfigSettings, tables: HashTablesRef, log: ServerLog) {
        guard let db = HTableDatabase(settings), db.specs.contains(where: { $0.dbMode == 1 }),
              let connection = db.connection(settings) else { return }
        defer { connection.close() }
        for spec in db.specs where spec.dbMode == 1 {
            guard let table = tables.table(named: spec.name) else { continue }
            switch db.store(spec, from: table, connection) {
            case .success(let n): log.info("htable", "wrote \(n) items of '\(spec.name)' to table '\(spec.dbTable ?? "")'")
            case .failure(let e): log.error("htable", "cannot write '\(spec.name)' to \(connection.url): \(e.message)")
            }
        }
    }

    /// A connection of the master's own for `db_url` (the workers open theirs after fork).
    private func connection(_ settings: ConfigSettings) -> DatabaseConnection? {
        guard case .success(let parsed) = DatabaseURL.parse(url) else { return nil }
        return DatabaseConnection(url: parsed, options: DatabaseSettings(settings).options(for: parsed))
    }
}

#if canImport(Glibc)
import Glibc
#endif
