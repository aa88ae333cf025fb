/// A table as Respite's schema command knows it: columns, unique constraints, indexes and
/// the `version` row, written once and rendered for each engine (SQLite and PostgreSQL
/// differ only in the row id: `INTEGER PRIMARY KEY` against `SERIAL PRIMARY KEY`).
/// Values only; `SchemaCatalog` holds the tables Respite uses.
public struct SchemaTable: Sendable {
    public let name: String
    public let version: Int
    public let columns: [SchemaColumn]
    /// Unique constraints, written inside CREATE TABLE: (name, columns).
    public let unique: [SchemaIndex]
    /// Plain indexes, created after the table.
    public let indexes: [SchemaIndex]

    public init(_ name: String, version: Int, _ columns: [SchemaColumn], unique: [SchemaIndex] = [], indexes: [SchemaIndex] = []) {
        self.name = name
        self.version = version
        self.columns = columns
        self.unique = unique
        self.indexes = indexes
    }

    /// The statements that create this table, its indexes and its `version` row, in order.
    /// The `version` row is a parameterised statement (text, parameters).
    public func createStatements(_ engine: DatabaseURL.Engine) -> [(sql: String, parameters: [DatabaseValue])] {
        var lines = columns.map { "    " + $0.definition(engine) }
        lines += unique.map { "    CONSTRAINT \($0.name) UNIQUE (\($0.columns.joined(separator: ", ")))" }
        var out: [(String, [DatabaseValue])] = [("CREATE TABLE \(name) (\n" + lines.joined(separator: ",\n") + "\n)", [])]
        out += indexes.map { ($0.createSQL(on: name), []) }
        out.append(("INSERT INTO version (table_name, table_version) VALUES (?, ?)", [.text(name), .int(Int64(version))]))
        return out
    }

    public func column(_ name: String) -> SchemaColumn? { columns.first { $0.name == name } }
}

/// An index or unique constraint: its name and columns.
public struct SchemaIndex: Sendable {
    public let name: String
    public let columns: [String]

    public init(_ name: String, _ columns: [String]) {
        self.name = name
        self.columns = columns
    }

    func createSQL(on table: String) -> String {
        "CREATE INDEX \(name) ON \(table) (\(columns.joined(separator: ", ")))"
    }
}

/// One column: name, type, default and nullability, as Kamailio's schema declares them
/// (db_sqlite reads a column's declared type to convert values, so the type names matter).
public struct SchemaColumn: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The row id: INTEGER PRIMARY KEY (SQLite), SERIAL PRIMARY KEY (PostgreSQL).
        case rowID
        case integer
        case varchar(Int)
        case real
        case timestamp
    }

    public enum Default: Sendable, Equatable {
        case none
        case null
        case text(String)
        case number(String)
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: Default
    public let notNull: Bool

    public init(_ name: String, _ kind: Kind, default defaultValue: Default = .none, notNull: Bool = true) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.notNull = notNull
    }

    /// `integer` column with a numeric default, NOT NULL (the common case).
    public static func int(_ name: String, _ value: Int = 0) -> SchemaColumn {
        SchemaColumn(name, .integer, default: .number(String(value)))
    }

    /// `varchar(n)` column with a text default, NOT NULL.
    public static func string(_ name: String, _ length: Int, _ value: String = "") -> SchemaColumn {
        SchemaColumn(name, .varchar(length), default: .text(value))
    }

    /// `varchar(n)` column that defaults to NULL.
    public static func nullable(_ name: String, _ length: Int) -> SchemaColumn {
        SchemaColumn(name, .varchar(length), default: .null, notNull: false)
    }

    /// The type as written in DDL.
    public func typeSQL(_ engine: DatabaseURL.Engine) -> String {
        switch kind {
        case .rowID: return engine == .sqlite ? "INTEGER PRIMARY KEY" : "SERIAL PRIMARY KEY"
        case .integer: return "INTEGER"
        case .varchar(let n): return "VARCHAR(\(n))"
        case .real: return "REAL"
        case .timestamp: return "TIMESTAMP WITHOUT TIME ZONE"
        }
    }

    /// `name TYPE [DEFAULT x] [NOT NULL]`.
    public func definition(_ engine: DatabaseURL.Engine) -> String {
        var text = "\(name) \(typeSQL(engine))"
        switch defaultValue {
        case .none: break
        case .null: text += " DEFAULT NULL"
        case .number(let n): text += " DEFAULT \(n)"
        case .text(let s): text += " DEFAULT '" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        }
        if notNull { text += " NOT NULL" }
        return text
    }
}

/// A known step from one version of a table to the next (Kamailio's upgrade notes): the
/// older version differs from the newer only by columns the newer adds or lengthens, so
/// `SchemaTool.migrate` brings the table to the catalog's definition without losing rows
/// (missing columns added with their defaults, varchar columns lengthened) and then sets
/// the version. A version with no step from it is refused.
public struct SchemaMigration: Sendable {
    public let table: String
    public let from: Int
    public let to: Int
    /// What changed, for the report (e.g. "Kamailio 5.1 lengthened contact to 512").
    public let why: String

    public init(_ table: String, from: Int, to: Int, _ why: String) {
        self.table = table
        self.from = from
        self.to = to
        self.why = why
    }
}
