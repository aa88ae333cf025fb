import Database
import Script

/// A process's database connections, one per URL (every module that names the same URL
/// shares it, as Kamailio's connection pool does). Made in the process after fork; a
/// connection opens on its first query.
public final class DatabasePool {
    private var connections: [String: DatabaseConnection] = [:]
    private let settings: DatabaseSettings
    private let log: ServerLog

    init(settings: DatabaseSettings, log: ServerLog) {
        self.settings = settings
        self.log = log
    }

    /// The connection for `url` (a config's `db_url` or `sqlcon` text); nil, logged, for a
    /// URL that cannot be used (checked when the config loaded, so this is rare).
    public func connection(_ url: String) -> DatabaseConnection? {
        if let kept = connections[url] { return kept }
        switch DatabaseURL.parse(url) {
        case .failure(let e):
            log.error("db", e.message)
            return nil
        case .success(let parsed):
            let log = self.log
            let made = DatabaseConnection(url: parsed, options: settings.options(for: parsed)) { line in
                log.error(parsed.driverModule, line)
            }
            connections[url] = made
            return made
        }
    }

    /// Closes every connection (a process about to exit).
    public func closeAll() {
        for c in connections.values { c.close() }
        connections.removeAll()
    }
}

/// The db_sqlite and db_postgres module parameters, read once from the config.
public struct DatabaseSettings: Sendable {
    /// SQLite files opened read-only (db_set_readonly).
    var readOnlyFiles: Set<String> = []
    /// Journal mode per SQLite file (db_set_journal_mode "path=MODE").
    var journalModes: [String: String] = [:]
    /// db_postgres `timeout`, in seconds (0: Respite's default query timeout).
    var postgresTimeoutSeconds = 0

    public init(_ config: ConfigSettings) {
        for v in config.modparams["db_sqlite"]?["db_set_readonly"] ?? [] { readOnlyFiles.insert(v.text) }
        for v in config.modparams["db_sqlite"]?["db_set_journal_mode"] ?? [] {
            let parts = v.text.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { journalModes[String(parts[0])] = String(parts[1]) }
        }
        if let t = config.modparamInt("db_postgres", "timeout") { postgresTimeoutSeconds = t }
    }

    func options(for url: DatabaseURL) -> DatabaseOptions {
        var o = DatabaseOptions()
        switch url.engine {
        case .sqlite:
            o.sqliteReadOnly = readOnlyFiles.contains(url.database)
            o.sqliteJournalMode = journalModes[url.database]
        case .postgres:
            if postgresTimeoutSeconds > 0 { o.queryTimeoutMs = postgresTimeoutSeconds * 1000 }
        }
        return o
    }
}
