import Foundation
import Testing
import TestSupport

@testable import Database

/// The database layer on real engines: a SQLite file in a scratch folder and a throw-away
/// PostgreSQL cluster. Values with quotes, semicolons and NULs travel as parameters.
@Suite(.serialized) struct DatabaseTests {
    static let nasty = "o'brien\"; DROP TABLE t; --\u{0}tail"

    @Test func urlsParseAsKamailioReadsThem() throws {
        let abs = try DatabaseURL.parse("sqlite:////var/lib/kamailio/db.sqlite").get()
        #expect(abs.engine == .sqlite && abs.database == "/var/lib/kamailio/db.sqlite")
        let rel = try DatabaseURL.parse("sqlite:///data/db.sqlite").get()
        #expect(rel.database == "data/db.sqlite")
        let pg = try DatabaseURL.parse("postgres://kamailio:s3cr:et@db.example.net:5433/kamailio").get()
        #expect(pg.engine == .postgres && pg.user == "kamailio" && pg.password == "s3cr:et")
        #expect(pg.host == "db.example.net" && pg.port == 5433 && pg.database == "kamailio")
        #expect(!pg.description.contains("s3cr"))
        #expect(try DatabaseURL.parse("postgresql://u@[::1]/k").get().host == "::1")
        for bad in ["mysql://k:k@localhost/k", "sqlite:/x", "postgres://h:99999/k", "oracle://x/y", "postgres:///k"] {
            guard case .failure = DatabaseURL.parse(bad) else {
                Issue.record("\(bad) parsed")
                continue
            }
        }
        guard case .failure(let e) = DatabaseURL.parse("postgres://u:secret@h:0/k") else { return }
        #expect(!e.message.contains("secret"))
    }

    @Test func sqliteParametersVersionsAndLocks() throws {
        let dir = try Spawn.scratchDirectory("sqlite")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("db.sqlite").path
        var options = DatabaseOptions()
        options.sqliteCreate = true
        options.sqliteBusyTimeoutMs = 200
        let db = DatabaseConnection(url: try DatabaseURL.parse("sqlite:///" + path).get(), options: options)
        try roundTrip(db)

        // A second process's connection (here: a second connection) holds the write lock:
        // the statement is retried for the busy timeout, then fails as busy.
        let holder = DatabaseConnection(url: db.url, options: options)
        _ = try holder.execute("BEGIN EXCLUSIVE").get()
        let started = Date()
        guard case .failure(let e) = db.execute("INSERT INTO t (name, n) VALUES (?, ?)", [.text("x"), .int(1)]) else {
            Issue.record("a locked file accepted a write")
            return
        }
        #expect(e.kind == .busy)
        #expect(Date().timeIntervalSince(started) >= 0.15)
        _ = try holder.execute("COMMIT").get()
        #expect(try db.execute("INSERT INTO t (name, n) VALUES (?, ?)", [.text("x"), .int(1)]).get() == 1)

        // A missing file is an error without CREATE, as in the server.
        let missing = DatabaseConnection(url: try DatabaseURL.parse("sqlite:///" + path + ".missing").get())
        #expect(missing.open()?.kind == .connection)
    }

    @Test func postgresParametersOutageAndReconnect() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        var options = DatabaseOptions()
        options.reconnectIntervalMs = 200
        let db = DatabaseConnection(url: try DatabaseURL.parse(cluster.url).get(), options: options)
        try roundTrip(db)

        // The server goes away: the query fails at once with a connection error...
        cluster.stop()
        let started = Date()
        guard case .failure(let e) = db.query("SELECT n FROM t") else {
            Issue.record("a stopped server answered")
            return
        }
        #expect(e.kind == .connection)
        #expect(Date().timeIntervalSince(started) < 3)
        // ...and the connection comes back with the server.
        try cluster.start()
        let back = waitUntil(timeout: 10, interval: 0.1) {
            if case .success = db.query("SELECT count(*) FROM t") { return true }
            return false
        }
        #expect(back)

        // Wrong password: a clear connection error naming the server, not the password.
        let wrong = DatabaseConnection(url: try DatabaseURL.parse("postgres://respite:nope@127.0.0.1:\(cluster.port)/respite").get())
        let refused = wrong.open()
        #expect(refused?.kind == .connection)
        #expect(refused?.message.contains("nope") == false)
    }

    /// Creates a table, checks `version` handling, and sends the nasty value both ways.
    private func roundTrip(_ db: DatabaseConnection) throws {
        _ = try db.execute("CREATE TABLE version (table_name VARCHAR(32) NOT NULL, table_version INTEGER NOT NULL)").get()
        _ = try db.execute("INSERT INTO version (table_name, table_version) VALUES (?, ?)", [.text("subscriber"), .int(6)]).get()
        #expect(db.checkVersion(table: "subscriber", expected: 6) == nil)
        #expect(db.checkVersion(table: "subscriber", expected: 7)?.kind == .schema)
        #expect(db.checkVersion(table: "location", expected: 9)?.message.contains("'location'") == true)

        _ = try db.execute("CREATE TABLE t (name VARCHAR(64), n INTEGER, r REAL)").get()
        let inserted = try db.execute("INSERT INTO t (name, n, r) VALUES (?, ?, ?)", [.text(Self.nasty), .int(42), .double(0.5)]).get()
        #expect(inserted == 1)
        let rows = try db.query("SELECT name, n, r FROM t WHERE name = ? OR n = ?", [.text(Self.nasty), .int(-1)]).get()
        #expect(rows.columns == ["name", "n", "r"])
        #expect(rows.rows.count == 1)
        let stored = rows.rows.first?.first?.text ?? ""
        // SQLite keeps the NUL; PostgreSQL text cannot hold one, so the value stops there.
        #expect(stored == Self.nasty || stored == "o'brien\"; DROP TABLE t; --")
        #expect(rows.rows.first?[1] == .int(42))
        #expect(rows.rows.first?[2] == .double(0.5))
        #expect(try db.query("SELECT count(*) FROM t").get().rows.first?.first?.int == 1)
        guard case .failure(let bad) = db.query("SELECT nothing FROM nowhere") else {
            Issue.record("a bad statement ran")
            return
        }
        #expect(bad.kind == .statement)
    }
}
