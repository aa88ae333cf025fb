import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// db_postgres: one libpq connection. Every statement is sent with its parameters apart
/// (PQsendQueryParams, text format, types left to the server) and waited for with poll,
/// so a server that stops answering costs at most the query timeout: the query is then
/// cancelled and the connection dropped (the next call reconnects). A statement with
/// parameters is prepared once per connection and then executed by name.
final class PostgresDriver: DatabaseDriver {
    private var connection: OpaquePointer?
    /// Prepared statements of this connection, by SQL text (gone with the connection).
    private var prepared: [String: String] = [:]
    private let url: DatabaseURL
    private let timeoutMs: Int
    /// Different statements prepared per connection at most.
    static let preparedLimit = 256

    init(url: DatabaseURL, options: DatabaseOptions) throws(DatabaseError) {
        self.url = url
        self.timeoutMs = options.queryTimeoutMs
        var settings: [(String, String)] = [("dbname", url.database), ("application_name", "respite"),
                                            ("connect_timeout", String(max(2, (options.queryTimeoutMs + 999) / 1000)))]
        if !url.host.isEmpty { settings.append(("host", url.host)) }
        if let port = url.port { settings.append(("port", String(port))) }
        if !url.user.isEmpty { settings.append(("user", url.user)) }
        if !url.password.isEmpty { settings.append(("password", url.password)) }
        connection = Self.connect(settings)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let why = connection.map { Self.message(PQerrorMessage($0)) } ?? "out of memory"
            close()
            throw DatabaseError(.connection, "cannot connect to \(url): \(why)")
        }
    }

    var isUsable: Bool {
        guard let connection else { return false }
        return PQstatus(connection) == CONNECTION_OK
    }

    func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    func run(_ sql: String, _ parameters: [DatabaseValue]) throws(DatabaseError) -> DatabaseRows {
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            throw DatabaseError(.connection, "no connection to \(url)")
        }
        let values: [String?] = parameters.map(Self.parameterText)
        let sent: Int32
        if let name = try preparedName(sql, parameters.count, connection) {
            sent = Self.withCStrings(values) { pointers in
                PQsendQueryPrepared(connection, name, Int32(values.count), pointers, nil, nil, 0)
            }
        } else {
            sent = Self.withCStrings(values) { pointers in
                PQsendQueryParams(connection, Self.numberedPlaceholders(sql), Int32(values.count), nil, pointers, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw lost("cannot send the query") }
        return try collect(connection, sql)
    }

    /// Statements with parameters are prepared on this connection the first time they run
    /// (the server parses and plans them once; a lookup for every request then costs it
    /// only the execution). Returns the prepared name, or nil to send the text each time
    /// (no parameters: BEGIN, DDL; or past `preparedLimit` different statements).
    private func preparedName(_ sql: String, _ count: Int, _ connection: OpaquePointer) throws(DatabaseError) -> String? {
        guard count > 0 else { return nil }
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        let name = "respite_\(prepared.count + 1)"
        guard PQsendPrepare(connection, name, Self.numberedPlaceholders(sql), Int32(count), nil) == 1 else {
            throw lost("cannot send the statement")
        }
        _ = try collect(connection, sql)
        prepared[sql] = name
        return name
    }

    /// Reads every result of the statement sent last.
    private func collect(_ connection: OpaquePointer, _ sql: String) throws(DatabaseError) -> DatabaseRows {
        try awaitAnswer(connection)
        var result = DatabaseRows()
        var failure: DatabaseError?
        while let r = PQgetResult(connection) {
            defer { PQclear(r) }
            switch PQresultStatus(r) {
            case PGRES_TUPLES_OK: result = Self.rows(r)
            case PGRES_COMMAND_OK: result.changes = Int(String(cString: PQcmdTuples(r))) ?? 0
            default:
                if failure == nil {
                    failure = DatabaseError(.statement, "PostgreSQL \(url.database): \(Self.message(PQresultErrorMessage(r))) (in: \(sql))")
                }
            }
        }
        if PQstatus(connection) != CONNECTION_OK { throw lost("the connection was lost") }
        if let failure { throw failure }
        return result
    }

    /// Waits until the whole answer has arrived, or the timeout passes (then cancels).
    private func awaitAnswer(_ connection: OpaquePointer) throws(DatabaseError) {
        let deadline = DatabaseClock.nowMs + UInt64(timeoutMs)
        while true {
            guard PQconsumeInput(connection) == 1 else { throw lost("the connection was lost") }
            if PQisBusy(connection) == 0 { return }
            let now = DatabaseClock.nowMs
            guard now < deadline else {
                if let cancel = PQgetCancel(connection) {
                    var buffer = [CChar](repeating: 0, count: 256)
                    _ = PQcancel(cancel, &buffer, Int32(buffer.count))
                    PQfreeCancel(cancel)
                }
                close()
                throw DatabaseError(.timeout, "PostgreSQL \(url) did not answer within \(timeoutMs) ms; the query was cancelled")
            }
            var pfd = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, Int32(deadline - now))
        }
    }

    private func lost(_ what: String) -> DatabaseError {
        let why = connection.map { Self.message(PQerrorMessage($0)) } ?? ""
        close()
        return DatabaseError(.connection, "PostgreSQL \(url): \(what)\(why.isEmpty ? "" : ": \(why)")")
    }

    private static func connect(_ settings: [(String, String)]) -> OpaquePointer? {
        withCStrings(settings.map(\.0) + [nil]) { keys in
            withCStrings(settings.map(\.1) + [nil]) { values in PQconnectdbParams(keys, values, 0) }
        }
    }

    private static func rows(_ r: OpaquePointer) -> DatabaseRows {
        var result = DatabaseRows()
        let columns = PQnfields(r)
        result.columns = (0..<columns).map { String(cString: PQfname(r, $0)) }
        let types = (0..<columns).map { PQftype(r, $0) }
        for row in 0..<PQntuples(r) {
            result.rows.append((0..<columns).map { c in
                if PQgetisnull(r, row, c) == 1 { return .null }
                return value(String(cString: PQgetvalue(r, row, c)), type: types[Int(c)])
            })
        }
        return result
    }

    /// A text-format cell as a value of its column's type (OIDs of pg_type).
    private static func value(_ text: String, type: Oid) -> DatabaseValue {
        switch type {
        case 20, 21, 23, 26: return Int64(text).map(DatabaseValue.int) ?? .text(text)
        case 700, 701, 1700: return Double(text).map(DatabaseValue.double) ?? .text(text)
        case 16: return .int(text == "t" ? 1 : 0)
        case 17: return .blob(decodeBytea(text) ?? Array(text.utf8))
        default: return .text(text)
        }
    }

    /// bytea's hex output (`\x0a1b...`).
    private static func decodeBytea(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count >= 2, digits[0] == UInt8(ascii: "\\"), digits[1] == UInt8(ascii: "x"), digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2 - 1)
        var i = 2
        while i < digits.count {
            guard let hi = hex(digits[i]), let lo = hex(digits[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        return bytes
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// A parameter in text format (nil: NULL). A NUL cannot travel in PostgreSQL text, so
    /// text with one is cut there, as the server would refuse it whole.
    private static func parameterText(_ value: DatabaseValue) -> String? {
        switch value {
        case .null: return nil
        case .int(let n): return String(n)
        case .double(let d): return String(d)
        case .text(let s): return s.contains("\0") ? String(s.prefix { $0 != "\0" }) : s
        case .blob(let b): return "\\x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }

    /// The statement with each `?` outside quotes and comments numbered as `$1`, `$2`...
    static func numberedPlaceholders(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        var s = String(cString: text)
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s.split(separator: "\n").joined(separator: "; ")
    }

    /// Calls `body` with C strings for `strings` (nil entries stay NULL), alive for the call.
    private static func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) })
    }
}
