import Database
import Script

/// What `$dbr(result=>key)` asks for.
enum SQLResultKey: Equatable, Sendable {
    case rows
    case cols
    /// `[row,column]`, from 0.
    case cell(Int, Int)
    /// `colname[n]`.
    case columnName(Int)

    /// `result=>key`, or nil when it is not that shape (the message says why).
    static func parse(_ text: String) -> Result<(result: String, key: SQLResultKey), SQLOpsError> {
        guard let arrow = text.range(of: "=>") else { return .failure(SQLOpsError("expected result=>key, got '\(text)'")) }
        let result = String(text[..<arrow.lowerBound]), rest = String(text[arrow.upperBound...])
        guard validName(result) else { return .failure(SQLOpsError("'\(result)' is not a result name")) }
        let inner = { (s: Substring) -> [Int]? in
            guard s.hasPrefix("["), s.hasSuffix("]") else { return nil }
            let numbers = s.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: " ")) }
            return numbers.contains(nil) ? nil : numbers.map { $0! }
        }
        switch rest {
        case "rows": return .success((result, .rows))
        case "cols": return .success((result, .cols))
        default:
            if rest.hasPrefix("colname"), let n = inner(rest.dropFirst(7)), n.count == 1 {
                return .success((result, .columnName(n[0])))
            }
            if let rc = inner(Substring(rest)), rc.count == 2 { return .success((result, .cell(rc[0], rc[1]))) }
            return .failure(SQLOpsError("unknown key '\(rest)' (use rows, cols, [row,col] or colname[n], numbers or variables holding them)"))
        }
    }

    /// Result and connection names: letters, digits, `_` and `-`.
    static func validName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }
}

/// One stored result: column names and values as the script sees them.
struct SQLResult {
    var columns: [String] = []
    var rows: [[Value]] = []

    init() {}

    init(_ rows: DatabaseRows) {
        columns = rows.columns
        self.rows = rows.rows.map { $0.map(SQLResult.scriptValue) }
    }

    /// A database value as a script value: integers stay integers, NULL is `$null`, the
    /// rest is text (a real number in decimal, a blob's bytes as UTF-8).
    static func scriptValue(_ v: DatabaseValue) -> Value {
        switch v {
        case .null: return .null
        case .int(let i): return .int(Int(truncatingIfNeeded: i))
        case .double(let d): return .string(String(d))
        case .text(let s): return .string(s)
        case .blob(let b): return .string(String(decoding: b, as: UTF8.self))
        }
    }

    func value(_ key: SQLResultKey) -> Value {
        switch key {
        case .rows: return .int(rows.count)
        case .cols: return .int(columns.count)
        case .cell(let r, let c):
            guard rows.indices.contains(r), rows[r].indices.contains(c) else { return .null }
            return rows[r][c]
        case .columnName(let n):
            return columns.indices.contains(n) ? .string(columns[n]) : .null
        }
    }
}

/// sqlops' state in one process (Kamailio keeps it in private memory): the named results,
/// each connection's rows touched by its last statement. Made on first use in the process
/// that queries; never shared.
final class SQLOpsProcess {
    let settings: SQLOpsSettings
    private var results: [String: SQLResult] = [:]
    private var changes: [String: Int] = [:]

    init(settings: SQLOpsSettings) {
        self.settings = settings
        for name in settings.declaredResults.prefix(settings.resultsMaxSize) { results[name] = SQLResult() }
    }

    /// Runs one statement on the named connection. A failure is logged (connection name,
    /// the database's message, the statement's SQL text, which holds no script value).
    func run(_ connection: String, _ template: SQLTemplate, _ values: [Value], process: ProcessContext) -> DatabaseRows? {
        guard let url = settings.connections[connection] else {
            process.log.error("sqlops", "no sqlcon named '\(connection)'")
            return nil
        }
        guard let db = process.databases.connection(url) else { return nil }
        switch db.query(template.sql, template.bind(values)) {
        case .failure(let e):
            process.log.error("sqlops", "query on '\(connection)' failed: \(e.message) [\(template.sql.prefix(120))]")
            return nil
        case .success(let rows):
            changes[connection] = rows.changes
            return rows
        }
    }

    /// Replaces the named result (a new name beyond results_maxsize is refused, logged). A
    /// statement without rows leaves it empty, columns too, as Kamailio does.
    func store(_ rows: DatabaseRows, as name: String, log: ServerLog) -> Bool {
        if results[name] == nil && results.count >= settings.resultsMaxSize {
            log.error("sqlops", "cannot keep result '\(name)': \(settings.resultsMaxSize) results exist already (results_maxsize)")
            return false
        }
        results[name] = rows.rows.isEmpty ? SQLResult() : SQLResult(rows)
        return true
    }

    /// Empties the named result (its name stays defined).
    func free(_ name: String) {
        if results[name] != nil { results[name] = SQLResult() }
    }

    func value(_ name: String, _ key: SQLResultKey) -> Value {
        (results[name] ?? SQLResult()).value(key)
    }

    /// `$sqlrows(con)`: rows touched by the connection's last statement in this process.
    func changes(_ connection: String) -> Value {
        changes[connection].map { .int($0) } ?? (settings.connections[connection] == nil ? .null : .int(0))
    }
}
