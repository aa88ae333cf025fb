/// One value going to or coming from a database: a bound parameter or a result cell.
/// Script values reach SQL only as these, never inside SQL text.
public enum DatabaseValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])

    /// The value as text (nil for NULL); integers and reals as PostgreSQL prints them.
    public var text: String? {
        switch self {
        case .null: return nil
        case .int(let n): return String(n)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .text(let s): return s
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        }
    }

    /// The value as an integer: integers, whole reals, and text that is an integer.
    public var int: Int64? {
        switch self {
        case .int(let n): return n
        case .double(let d): return d == d.rounded() && abs(d) < 9e18 ? Int64(d) : nil
        case .text(let s): return Int64(s)
        case .null, .blob: return nil
        }
    }

    public var isNull: Bool { self == .null }

    public var description: String { text ?? "NULL" }
}

/// What a query returns: the column names and the rows, fully read (the connection is free
/// again when this exists). `changes` is the rows an INSERT, UPDATE or DELETE touched.
public struct DatabaseRows: Sendable {
    public var columns: [String] = []
    public var rows: [[DatabaseValue]] = []
    public var changes = 0

    public init(columns: [String] = [], rows: [[DatabaseValue]] = [], changes: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.changes = changes
    }

    /// The index of the column named `name` (case-insensitive), if any.
    public func column(_ name: String) -> Int? {
        let wanted = name.lowercased()
        return columns.firstIndex { $0.lowercased() == wanted }
    }
}

/// Why a database call failed. `kind` tells the caller whether the connection is worth
/// another try (`.connection`, `.timeout`) or the statement itself is wrong (`.statement`).
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A URL that cannot be used.
        case url
        /// No connection: refused, lost, or not yet back.
        case connection
        /// The server did not answer within the query timeout.
        case timeout
        /// The engine refused the statement (syntax, constraint, missing table).
        case statement
        /// A table is missing from `version` or has another version than Respite reads.
        case schema
        /// The database is locked (SQLite) past the retry bound.
        case busy
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
