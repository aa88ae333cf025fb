/// A database URL as Kamailio's modules take it (`db_url`, `sqlcon`):
/// `sqlite:///relative/file`, `sqlite:////absolute/file`, `postgres://user:pass@host:port/db`
/// (`postgresql://` too). As in Kamailio, the database is what follows the first `/` after
/// the host, so an absolute SQLite path takes four slashes.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public enum Engine: String, Sendable { case sqlite, postgres }

    public let engine: Engine
    public let user: String
    public let password: String
    public let host: String
    public let port: Int?
    /// The SQLite file's path, or PostgreSQL's database name.
    public let database: String
    /// The text as written (the pool's key; with the password, so never logged).
    public let text: String

    /// The URL without its password, for log lines and errors.
    public var description: String {
        switch engine {
        case .sqlite: return "sqlite:///\(database)"
        case .postgres:
            let who = user.isEmpty ? "" : "\(user)@"
            return "postgres://\(who)\(host)\(port.map { ":\($0)" } ?? "")/\(database)"
        }
    }

    /// The Kamailio module that serves this engine (`loadmodule` name without `.so`).
    public var driverModule: String { engine == .sqlite ? "db_sqlite" : "db_postgres" }

    public static func parse(_ text: String) -> Result<DatabaseURL, DatabaseError> {
        func bad(_ why: String) -> Result<DatabaseURL, DatabaseError> {
            .failure(DatabaseError(.url, "bad database URL '\(redacted(text))': \(why)"))
        }
        guard let schemeEnd = schemeSeparator(text) else {
            return bad("expected scheme://[user[:password]@]host[:port]/database")
        }
        let engine: Engine
        switch text[..<schemeEnd.lowerBound].lowercased() {
        case "sqlite": engine = .sqlite
        case "postgres", "postgresql": engine = .postgres
        case "mysql": return bad("MySQL is not available in Respite; use sqlite:// or postgres://")
        case let other: return bad("unknown database engine '\(other)' (sqlite, postgres)")
        }
        let rest = text[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return bad("no database after the host") }
        var authority = rest[..<slash]
        let database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty else { return bad("no database after the host") }
        var user = "", password = ""
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                user = String(credentials)
            }
        }
        var host = String(authority)
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                return bad("the port must be a number between 1 and 65535")
            }
            port = p
            host = String(authority[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if engine == .postgres && host.isEmpty { return bad("PostgreSQL needs a host") }
        return .success(DatabaseURL(engine: engine, user: user, password: password, host: host, port: port,
                                    database: database, text: text))
    }

    /// `text` with any password replaced by `***`.
    static func redacted(_ text: String) -> String {
        guard let scheme = schemeSeparator(text), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// Where `://` is in `text`.
    static func schemeSeparator(_ text: String) -> Range<String.Index>? {
        var i = text.startIndex
        while i < text.endIndex {
            if text[i...].hasPrefix("://") { return i..<text.index(i, offsetBy: 3) }
            i = text.index(after: i)
        }
        return nil
    }
}
