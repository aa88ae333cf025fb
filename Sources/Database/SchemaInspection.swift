/// What a database holds, asked of the engine's own catalog: which tables exist, their
/// columns (with varchar lengths) and index names, and the `version` rows. Table names
/// come from `SchemaCatalog` and travel as parameters all the same.
extension DatabaseConnection {
    /// Whether a table of this name exists (in the current schema, for PostgreSQL).
    public func tableExists(_ name: String) throws(DatabaseError) -> Bool {
        let sql = url.engine == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
            : "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"
        return try !query(sql, [.text(name)]).get().rows.isEmpty
    }

    /// The table's columns, each with its varchar length when it has one (updateValue:
    /// assigning nil through the subscript would drop the column).
    public func tableColumns(_ name: String) throws(DatabaseError) -> [String: Int?] {
        var out: [String: Int?] = [:]
        switch url.engine {
        case .sqlite:
            for row in try query("SELECT name, type FROM pragma_table_info(?)", [.text(name)]).get().rows {
                guard let column = row[0].text else { continue }
                out.updateValue(Self.varcharLength(row[1].text ?? ""), forKey: column.lowercased())
            }
        case .postgres:
            let sql = "SELECT column_name, character_maximum_length FROM information_schema.columns "
                + "WHERE table_schema = current_schema() AND table_name = ?"
            for row in try query(sql, [.text(name)]).get().rows {
                guard let column = row[0].text else { continue }
                out.updateValue(row[1].int.map { Int($0) }, forKey: column.lowercased())
            }
        }
        return out
    }

    /// The names of the table's indexes (unique constraints included).
    public func tableIndexes(_ name: String) throws(DatabaseError) -> Set<String> {
        let sql = url.engine == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            : "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?"
        return Set(try query(sql, [.text(name)]).get().rows.compactMap { $0.first?.text?.lowercased() })
    }

    /// The table's row in `version`, nil when it has none.
    public func tableVersion(_ name: String) throws(DatabaseError) -> Int? {
        let rows = try query("SELECT table_version FROM version WHERE table_name = ?", [.text(name)]).get()
        return rows.rows.first?.first?.int.map { Int($0) }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction(_ body: () throws(DatabaseError) -> Void) throws(DatabaseError) {
        _ = try execute("BEGIN").get()
        do {
            try body()
            _ = try execute("COMMIT").get()
        } catch {
            _ = execute("ROLLBACK")
            throw error
        }
    }

    /// `VARCHAR(255)` -> 255 (SQLite keeps the declared type as text).
    static func varcharLength(_ type: String) -> Int? {
        let upper = type.uppercased()
        guard upper.hasPrefix("VARCHAR("), upper.hasSuffix(")") else { return nil }
        return Int(upper.dropFirst("VARCHAR(".count).dropLast())
    }
}
