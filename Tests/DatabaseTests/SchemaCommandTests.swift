import Foundation
import Testing
import TestSupport

@testable import Database

/// `respite-db` (the built executable) on a SQLite scratch file and a throw-away
/// PostgreSQL cluster: the tables it creates are the ones Kamailio's schema files create
/// (column for column, index for index), Kamailio 5.6.3 starts on them, a database made
/// from Kamailio's files passes `check`, and `migrate` brings Kamailio 4.x/5.0 tables up.
@Suite(.serialized) struct SchemaCommandTests {
    static let kamailioSchema = "/usr/share/kamailio"
    static let kamailioFiles = ["standard", "auth_db", "usrloc", "acc", "htable"]

    @Test func catalogVersionsAreTheOnesRespiteReads() {
        for table in SchemaCatalog.tables {
            #expect(DatabaseTables.versions[table.name] == table.version, "\(table.name)")
        }
        #expect(SchemaCatalog.tables.count == DatabaseTables.versions.count)
        #expect(SchemaCatalog.path(SchemaCatalog.location, from: 7)?.count == 2)
        #expect(SchemaCatalog.path(SchemaCatalog.location, from: 6) == nil)
    }

    @Test func sqliteCreateMatchesKamailiosSchemaAndKamailioStartsOnIt() throws {
        let dir = try Spawn.scratchDirectory("respite-db")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Kamailio's own files make one database; `check` accepts it.
        let theirs = dir.appendingPathComponent("kamailio.sqlite").path
        for file in Self.kamailioFiles {
            let r = try Spawn.run("/bin/sh", ["-c", "sqlite3 \"$0\" < \"$1\"", theirs, "\(Self.kamailioSchema)/db_sqlite/\(file)-create.sql"])
            #expect(r.status == 0, "\(r.output)")
        }
        let checked = try Products.run("respite-db", ["check", "sqlite:///" + theirs])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.stdout.split(separator: "\n").count == 7)

        // respite-db makes the other (the file does not exist yet), the same table for table.
        let ours = dir.appendingPathComponent("respite.sqlite").path
        let created = try Products.run("respite-db", ["create", "sqlite:///" + ours])
        #expect(created.status == 0, "\(created.output)")
        #expect(created.stdout.contains("location: created (version 9)"))
        let mine = try SchemaDescription.describe(try open("sqlite:///" + ours))
        let kamailio = try SchemaDescription.describe(try open("sqlite:///" + theirs))
        #expect(mine == kamailio, "\(mine.difference(from: kamailio))")
        #expect(try Products.run("respite-db", ["check", "sqlite:///" + ours]).status == 0)
        // A second create leaves everything alone.
        let again = try Products.run("respite-db", ["create", "sqlite:///" + ours])
        #expect(again.status == 0 && again.stdout.contains("subscriber: already present (version 7)"))

        #expect(try kamailioRefuses(url: "sqlite:///" + ours, driver: "db_sqlite") == nil)
        // The same start fails once a version is wrong, so the check above can fail.
        _ = try open("sqlite:///" + ours).execute("UPDATE version SET table_version = 8 WHERE table_name = 'location'").get()
        #expect(try kamailioRefuses(url: "sqlite:///" + ours, driver: "db_sqlite")?.contains("location") == true)
        let stale = try Products.run("respite-db", ["check", "sqlite:///" + ours])
        #expect(stale.status == 1)
        #expect(stale.stdout.contains("location: has version 8, Respite reads version 9"))

        // Only `create` makes a missing file.
        let missing = try Products.run("respite-db", ["check", "sqlite:///" + ours + ".none"])
        #expect(missing.status == 2 && missing.stderr.contains("respite-db:"))
        #expect(!FileManager.default.fileExists(atPath: ours + ".none"))
    }

    @Test func postgresCreateMatchesKamailiosSchemaAndKamailioStartsOnIt() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for file in Self.kamailioFiles { try cluster.psql(file: "\(Self.kamailioSchema)/postgres/\(file)-create.sql") }
        let checked = try Products.run("respite-db", ["check", cluster.url])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(!checked.output.contains("respite:respite@"), "the password is never printed")
        let kamailio = try SchemaDescription.describe(try open(cluster.url))
        try cluster.psql("DROP TABLE version, subscriber, location, location_attrs, acc, acc_cdrs, missed_calls, htable")

        let partial = try Products.run("respite-db", ["create", cluster.url, "--tables", "subscriber,location"])
        #expect(partial.status == 0, "\(partial.output)")
        #expect(try Products.run("respite-db", ["check", cluster.url]).status == 1)
        #expect(try Products.run("respite-db", ["check", cluster.url, "--tables", "subscriber", "location"]).status == 0)
        let created = try Products.run("respite-db", ["create", cluster.url])
        #expect(created.status == 0, "\(created.output)")
        let mine = try SchemaDescription.describe(try open(cluster.url))
        #expect(mine == kamailio, "\(mine.difference(from: kamailio))")
        #expect(try kamailioRefuses(url: cluster.url, driver: "db_postgres") == nil)

        // A Kamailio 4.4 subscriber (version 6, shorter columns) and a 5.0 location
        // (version 8, contact of 255): migrate lengthens them and sets the versions.
        try cluster.psql("""
            ALTER TABLE subscriber ALTER COLUMN password TYPE VARCHAR(25), ALTER COLUMN ha1 TYPE VARCHAR(64), ALTER COLUMN ha1b TYPE VARCHAR(64);
            ALTER TABLE location ALTER COLUMN contact TYPE VARCHAR(255);
            UPDATE version SET table_version = 6 WHERE table_name = 'subscriber';
            UPDATE version SET table_version = 8 WHERE table_name = 'location';
            INSERT INTO subscriber (username, domain, password) VALUES ('kept', 'example.com', 'x');
            """)
        #expect(try kamailioRefuses(url: cluster.url, driver: "db_postgres") != nil)
        let migrated = try Products.run("respite-db", ["migrate", cluster.url])
        #expect(migrated.status == 0, "\(migrated.output)")
        #expect(migrated.stdout.contains("subscriber: lengthened ha1 from 64 to 128"))
        #expect(migrated.stdout.contains("location: version 8 to 9"))
        #expect(migrated.stdout.contains("acc: up to date (version 5)"))
        #expect(try SchemaDescription.describe(try open(cluster.url)) == kamailio)
        #expect(try cluster.psql("SELECT username FROM subscriber").contains("kept"))
        #expect(try kamailioRefuses(url: cluster.url, driver: "db_postgres") == nil)

        // A version with no known step is refused and left as it is.
        try cluster.psql("UPDATE version SET table_version = 1 WHERE table_name = 'htable'")
        let refused = try Products.run("respite-db", ["migrate", cluster.url, "--tables", "htable"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("htable: has version 1; respite-db knows no steps from it to 2"))
        #expect(try cluster.psql("SELECT table_version FROM version WHERE table_name = 'htable'").hasPrefix("1"))

        // The server stops: a clear error and exit status 2.
        cluster.stop()
        let unreachable = try Products.run("respite-db", ["check", cluster.url])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("cannot connect"))
    }

    @Test func sqliteMigrateAddsKamailio43Columns() throws {
        let dir = try Spawn.scratchDirectory("respite-db")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = "sqlite:///" + dir.appendingPathComponent("old.sqlite").path
        #expect(try Products.run("respite-db", ["create", url]).status == 0)
        // Kamailio 4.2's location: no server_id, connection_id, keepalive, partition; version 7.
        let db = try open(url)
        for sql in ["DROP INDEX location_tcpcon_idx", "DROP INDEX location_connection_idx",
                    "ALTER TABLE location DROP COLUMN server_id", "ALTER TABLE location DROP COLUMN connection_id",
                    "ALTER TABLE location DROP COLUMN keepalive", "ALTER TABLE location DROP COLUMN partition",
                    "UPDATE version SET table_version = 7 WHERE table_name = 'location'",
                    "INSERT INTO location (ruid, username, contact) VALUES ('r1', 'alice', 'sip:alice@127.0.0.1')"] {
            _ = try db.execute(sql).get()
        }
        db.close()
        let stale = try Products.run("respite-db", ["check", url, "--tables", "location"])
        #expect(stale.status == 1 && stale.stdout.contains("`respite-db migrate` brings it there"))
        let migrated = try Products.run("respite-db", ["migrate", url])
        #expect(migrated.status == 0, "\(migrated.output)")
        #expect(migrated.stdout.contains("location: version 7 to 8"))
        #expect(migrated.stdout.contains("location: added the column partition INTEGER DEFAULT 0 NOT NULL"))
        #expect(migrated.stdout.contains("location: added the index location_connection_idx (server_id, connection_id)"))
        #expect(migrated.stdout.contains("location: now at version 9"))
        #expect(try Products.run("respite-db", ["check", url]).status == 0)
        let row = try open(url).query("SELECT username, partition, keepalive FROM location").get().rows
        #expect(row == [[.text("alice"), .int(0), .int(0)]])
        #expect(try kamailioRefuses(url: url, driver: "db_sqlite") == nil)
        // Nothing left to do the second time.
        let again = try Products.run("respite-db", ["migrate", url])
        #expect(again.status == 0 && again.stdout.contains("location: up to date (version 9)"))
    }

    @Test func subscribersAsKamctlWritesThem() throws {
        let dir = try Spawn.scratchDirectory("respite-db")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = "sqlite:///" + dir.appendingPathComponent("users.sqlite").path
        #expect(try Products.run("respite-db", ["create", url, "--tables", "subscriber"]).status == 0)
        let password = "it's; \"secret\""
        let added = try Products.run("respite-db", ["add-user", url, "alice@example.com", password])
        #expect(added.status == 0, "\(added.output)")
        #expect(try Products.run("respite-db", ["add-user", url, "bob@example.com", "b0b"]).status == 0)
        let twice = try Products.run("respite-db", ["add-user", url, "alice@example.com", "other"])
        #expect(twice.status == 1 && twice.stderr.contains("already a subscriber"))
        #expect(try Products.run("respite-db", ["add-user", url, "nodomain", "x"]).status != 0)

        let row = try open(url).query("SELECT password, ha1, ha1b FROM subscriber WHERE username = 'alice'").get().rows
        #expect(row.first?[0] == .text(password))
        #expect(row.first?[1] == .text(try md5sum("alice:example.com:" + password)))
        #expect(row.first?[2] == .text(try md5sum("alice@example.com:example.com:" + password)))

        #expect(try Products.run("respite-db", ["list-users", url]).stdout == "alice@example.com\nbob@example.com\n")
        #expect(try Products.run("respite-db", ["remove-user", url, "alice@example.com"]).status == 0)
        #expect(try Products.run("respite-db", ["list-users", url]).stdout == "bob@example.com\n")
        let gone = try Products.run("respite-db", ["remove-user", url, "alice@example.com"])
        #expect(gone.status == 1 && gone.stderr.contains("not a subscriber"))
    }

    private func open(_ text: String) throws -> DatabaseConnection {
        DatabaseConnection(url: try DatabaseURL.parse(text).get())
    }

    /// MD5 by coreutils' md5sum, not by the code under test.
    private func md5sum(_ text: String) throws -> String {
        let r = try Spawn.run("/bin/sh", ["-c", "printf %s \"$0\" | md5sum", text])
        return String(r.stdout.prefix(32))
    }
}

/// Dates as Kamailio's drivers keep them: db_sqlite's Julian day (a value Kamailio 5.6.3
/// wrote for acc's `time`, read back with sqlite3) and db_postgres' local text.
@Suite struct DatabaseTimeTests {
    @Test func julianDaysAsDbSqliteWritesThem() {
        // Kamailio wrote 2461376.49559606472033 for a record made at 1796169220.
        #expect(DatabaseTime.seconds(.double(2_461_376.495_596_064_720_33)) == 1_796_169_220)
        guard case .double(let day) = DatabaseTime.value(1_796_169_220, engine: .sqlite) else {
            Issue.record("not a REAL")
            return
        }
        #expect(abs(day - 2_461_376.495_596_064_720_33) < 1e-9)
        for t in [0, 1, 1_700_000_000, 1_796_169_219] {
            #expect(DatabaseTime.seconds(DatabaseTime.value(t, engine: .sqlite)) == t)
            #expect(DatabaseTime.seconds(DatabaseTime.value(t, engine: .postgres)) == t)
        }
        #expect(DatabaseTime.seconds(.text("2030-05-28 21:32:15")) != nil)
        #expect(DatabaseTime.seconds(.null) == nil && DatabaseTime.seconds(.text("soon")) == nil)
    }
}
