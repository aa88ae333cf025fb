
#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds of the monotonic clock (reconnect pacing, query deadlines).
enum DatabaseClock {
    static var nowMs: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

/// The engine side of one connection: SQLiteDriver or PostgresDriver.
protocol DatabaseDriver: AnyObject {
    /// Runs one statement; `?` marks each parameter, in order.
    func run(_ sql: String, _ parameters: [DatabaseValue]) throws(DatabaseError) -> DatabaseRows
    /// False once the connection is lost (the next call reconnects).
    var isUsable: Bool { get }
    func close()
}

/// How a connection behaves; the defaults are Respite's (docs/databases.md).
public struct DatabaseOptions: Sendable {
    /// How long one query may take before it fails (PostgreSQL: cancelled, connection reset).
    public var queryTimeoutMs = 2_000
    /// How long a locked SQLite file is retried before a statement fails.
    public var sqliteBusyTimeoutMs = 1_000
    /// SQLite's journal mode for this file (db_sqlite's db_set_journal_mode), when set.
    public var sqliteJournalMode: String?
    /// Opens a SQLite file read-only (db_sqlite's db_set_readonly).
    public var sqliteReadOnly = false
    /// Creates a missing SQLite file (respite-db does; the server does not).
    public var sqliteCreate = false
    /// After a failed connect, the next attempt waits this long (lookups meanwhile fail at once).
    public var reconnectIntervalMs: UInt64 = 1_000

    public init() {}
}

/// One connection to one database, owned by one process (opened there, after fork, on
/// first use). A lost connection is reopened on the next call; while the server stays
/// down, calls fail at once until `reconnectIntervalMs` has passed, so a receiver never
/// waits on a dead database for more than one connect attempt or query timeout.
public final class DatabaseConnection {
    public let url: DatabaseURL
    public let options: DatabaseOptions
    private var driver: DatabaseDriver?
    private var lastFailedConnectMs: UInt64?
    /// Called with a line when the connection is lost or comes back (the owner logs it).
    var report: (String) -> Void

    public init(url: DatabaseURL, options: DatabaseOptions = DatabaseOptions(), report: @escaping (String) -> Void = { _ in }) {
        self.url = url
        self.options = options
        self.report = report
    }

    deinit { driver?.close() }

    /// Runs a statement that returns rows (or none); `?` marks each parameter.
    public func query(_ sql: String, _ parameters: [DatabaseValue] = []) -> Result<DatabaseRows, DatabaseError> {
        let driver: DatabaseDriver
        switch connected() {
        case .success(let d): driver = d
        case .failure(let e): return .failure(e)
        }
        do {
            return .success(try driver.run(sql, parameters))
        } catch {
            guard !driver.isUsable else { return .failure(error) }
            // The connection broke under the statement (a restarted server): one new
            // connection and one more try, as Kamailio's drivers do.
            drop(because: error)
            guard case .success(let fresh) = connected(), fresh !== driver else { return .failure(error) }
            do { return .success(try fresh.run(sql, parameters)) } catch let again {
                if !fresh.isUsable { drop(because: again) }
                return .failure(again)
            }
        }
    }

    /// Runs an INSERT, UPDATE or DELETE; returns the rows it touched.
    public func execute(_ sql: String, _ parameters: [DatabaseValue] = []) -> Result<Int, DatabaseError> {
        query(sql, parameters).map(\.changes)
    }

    /// Opens the connection now (at start-up checks); nil when it is up.
    public func open() -> DatabaseError? {
        if case .failure(let e) = connected() { return e }
        return nil
    }

    public func close() {
        driver?.close()
        driver = nil
    }

    private func connected() -> Result<DatabaseDriver, DatabaseError> {
        if let driver, driver.isUsable { return .success(driver) }
        let now = DatabaseClock.nowMs
        if let failed = lastFailedConnectMs, now < failed + options.reconnectIntervalMs {
            return .failure(DatabaseError(.connection, "no connection to \(url) (retrying every \(options.reconnectIntervalMs) ms)"))
        }
        do {
            let fresh: DatabaseDriver
            switch url.engine {
            case .sqlite: fresh = try SQLiteDriver(url: url, options: options)
            case .postgres: fresh = try PostgresDriver(url: url, options: options)
            }
            if lastFailedConnectMs != nil { report("connection to \(url) is back") }
            lastFailedConnectMs = nil
            driver = fresh
            return .success(fresh)
        } catch {
            if lastFailedConnectMs == nil { report("cannot connect to \(url): \(error)") }
            lastFailedConnectMs = now
            return .failure(error)
        }
    }

    private func drop(because error: DatabaseError) {
        report("lost the connection to \(url): \(error); reconnecting")
        driver?.close()
        driver = nil
    }
}
