/// What `respite-db create`, `check` and `migrate` do to one database: each returns the
/// lines to print (one or more a table) and whether everything asked for is now usable.
/// Nothing is dropped or rewritten: tables are created when missing, and older tables are
/// changed only along a known `SchemaMigration` path (columns added, varchars lengthened).
public struct SchemaOutcome: Sendable {
    public var lines: [String] = []
    /// Some table is missing, at another version, or could not be changed.
    public var failed = false

    mutating func say(_ table: String, _ text: String) { lines.append("\(table): \(text)") }
    mutating func fail(_ table: String, _ text: String) {
        say(table, text)
        failed = true
    }
}

public struct SchemaTool {
    public let db: DatabaseConnection

    public init(_ db: DatabaseConnection) { self.db = db }

    /// Creates the tables that are missing (and `version` first when it is), each in one
    /// transaction with its indexes and its `version` row. Present tables are left alone.
    public func create(_ tables: [SchemaTable]) -> SchemaOutcome {
        var out = SchemaOutcome()
        var wanted = tables.filter { $0.name != "version" }
        wanted.insert(SchemaCatalog.versionTable, at: 0)
        for table in wanted {
            do {
                if try db.tableExists(table.name) {
                    let version = try db.tableVersion(table.name)
                    if version == table.version {
                        out.say(table.name, "already present (version \(table.version)), left as it is")
                    } else {
                        out.fail(table.name, "already present with \(Self.describe(version)), Respite reads version \(table.version): see `respite-db migrate`")
                    }
                    continue
                }
                try db.transaction { () throws(DatabaseError) in
                    if table.name != "version" {
                        _ = try db.execute("DELETE FROM version WHERE table_name = ?", [.text(table.name)]).get()
                    }
                    for (sql, parameters) in table.createStatements(db.url.engine) {
                        _ = try db.execute(sql, parameters).get()
                    }
                }
                out.say(table.name, "created (version \(table.version))")
            } catch {
                out.fail(table.name, "not created: \(error.message)")
            }
        }
        return out
    }

    /// Whether each table exists with the columns and `version` row Respite reads.
    public func check(_ tables: [SchemaTable]) -> SchemaOutcome {
        var out = SchemaOutcome()
        do {
            guard try db.tableExists("version") else {
                out.fail("version", "missing: there is no 'version' table; `respite-db create` makes the tables")
                return out
            }
        } catch {
            out.fail("version", "cannot be read: \(error.message)")
            return out
        }
        for table in tables {
            do {
                guard try db.tableExists(table.name) else {
                    out.fail(table.name, "missing; `respite-db create --tables \(table.name)` makes it")
                    continue
                }
                let version = try db.tableVersion(table.name)
                guard version == table.version else {
                    let hint = version.flatMap { SchemaCatalog.path(table, from: $0) } != nil
                        ? "`respite-db migrate` brings it there" : "respite-db knows no way there"
                    out.fail(table.name, "has \(Self.describe(version)), Respite reads version \(table.version); \(hint)")
                    continue
                }
                let have = try db.tableColumns(table.name)
                let lacking = table.columns.map(\.name).filter { have[$0] == nil && $0 != "id" }
                guard lacking.isEmpty else {
                    out.fail(table.name, "version \(table.version) but lacks the columns \(lacking.joined(separator: ", ")); `respite-db migrate` adds them")
                    continue
                }
                out.say(table.name, "ok (version \(table.version))")
            } catch {
                out.fail(table.name, "cannot be read: \(error.message)")
            }
        }
        return out
    }

    /// Brings each table to the version Respite reads along known steps, in one transaction
    /// a table, saying what it did; refuses a table whose version has no known path.
    public func migrate(_ tables: [SchemaTable]) -> SchemaOutcome {
        var out = SchemaOutcome()
        for table in tables {
            do {
                guard try db.tableExists(table.name) else {
                    out.fail(table.name, "missing; `respite-db create --tables \(table.name)` makes it (migrate changes only existing tables)")
                    continue
                }
                guard let version = try db.tableVersion(table.name) else {
                    out.fail(table.name, "present but not in the 'version' table: its version is unknown, so it was left as it is")
                    continue
                }
                if version > table.version {
                    out.fail(table.name, "has version \(version), newer than the \(table.version) Respite reads; left as it is")
                    continue
                }
                guard let steps = SchemaCatalog.path(table, from: version) else {
                    let known = SchemaCatalog.migrations.filter { $0.table == table.name }.map { "\($0.from) to \($0.to)" }
                    out.fail(table.name, "has version \(version); respite-db knows no steps from it to \(table.version)"
                        + (known.isEmpty ? "" : " (it knows \(known.joined(separator: ", ")))") + "; left as it is")
                    continue
                }
                var done: [String] = []
                try db.transaction { () throws(DatabaseError) in
                    done = try align(table)
                    if version != table.version {
                        _ = try db.execute("UPDATE version SET table_version = ? WHERE table_name = ?",
                                           [.int(Int64(table.version)), .text(table.name)]).get()
                    }
                }
                for step in steps { out.say(table.name, "version \(step.from) to \(step.to): \(step.why)") }
                for action in done { out.say(table.name, action) }
                if steps.isEmpty && done.isEmpty {
                    out.say(table.name, "up to date (version \(table.version))")
                } else {
                    out.say(table.name, "now at version \(table.version)")
                }
            } catch {
                out.fail(table.name, "not migrated (nothing was changed): \(error.message)")
            }
        }
        return out
    }

    /// Makes an existing table match its definition without losing rows: missing columns
    /// added with their defaults, shorter varchars lengthened (PostgreSQL; SQLite does not
    /// enforce lengths), missing indexes created. Returns what it did.
    func align(_ table: SchemaTable) throws(DatabaseError) -> [String] {
        var done: [String] = []
        let have = try db.tableColumns(table.name)
        for column in table.columns {
            guard let found = have[column.name] else {
                // A row id cannot be added to a table that has rows; Kamailio never reads it.
                if column.kind == .rowID { continue }
                _ = try db.execute("ALTER TABLE \(table.name) ADD COLUMN \(column.definition(db.url.engine))").get()
                done.append("added the column \(column.definition(db.url.engine))")
                continue
            }
            if case .varchar(let wanted) = column.kind, db.url.engine == .postgres, let length = found, length < wanted {
                _ = try db.execute("ALTER TABLE \(table.name) ALTER COLUMN \(column.name) TYPE VARCHAR(\(wanted))").get()
                done.append("lengthened \(column.name) from \(length) to \(wanted)")
            }
        }
        let indexes = try db.tableIndexes(table.name)
        for index in table.indexes where !indexes.contains(index.name) {
            _ = try db.execute(index.createSQL(on: table.name)).get()
            done.append("added the index \(index.name) (\(index.columns.joined(separator: ", ")))")
        }
        return done
    }

    static func describe(_ version: Int?) -> String {
        version.map { "version \($0)" } ?? "no row in the 'version' table"
    }
}
