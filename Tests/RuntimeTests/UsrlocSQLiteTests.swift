import Foundation
import SIP
import Testing
import TestSupport

/// usrloc db_mode 1 and 2 on a SQLite file made from Kamailio 5.6's schema: the contacts
/// reach the `location` table (at once, or at the latest when SIGTERM stops the server),
/// come back into the arena at the next start, and rows pass between Kamailio 5.6.3 and
/// Respite in both directions.
@Suite(.serialized) struct UsrlocSQLiteTests {
    typealias S = UsrlocDatabaseSupport

    @Test func writeBackFlushesAtShutdownAndTheRestartLoadsIt() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        let config = S.config(url: "sqlite:///" + db, mode: 2)
        let first = try ServerProcess(config: config, readiness: .processesStarted)
        let client = try SIPTestClient(server: first.port)
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        // Write-back: the contact waits in the arena, marked dirty, for the timer (60 s).
        #expect(try S.sqliteRows(db) == "")
        let shm = try S.shmUsrloc(first)
        #expect(shm["dbMode"] as? Int == 2 && shm["dirty"] as? Int == 1)
        #expect(try S.shmText(first).contains("db_mode 2  dirty 1"))
        #expect(S.lookup(client, "bob") == "200 Found sip:bob@127.0.0.1:7001")
        first.stop()
        #expect(first.log.contains("shutdown write-back: 1 contacts written to location"))
        let row = try S.sqliteRows(db).split(separator: "|")
        #expect(row.count == 6 && row[0] == "bob" && row[1] == "sip:bob@127.0.0.1:7001" && row[3] == "1")
        #expect(row.count == 6 && (3590...3600).contains(Int(row[5]) ?? 0))
        #expect(try S.sqlite(db, "SELECT typeof(expires), typeof(last_modified), typeof(domain) FROM location") == "real|real|null")

        // The next start loads it: lookup finds bob without a new REGISTER.
        let second = try ServerProcess(config: config, readiness: .processesStarted)
        defer { second.stop() }
        #expect(second.log.contains("loaded 1 contacts from location"))
        let client2 = try SIPTestClient(server: second.port)
        #expect(S.lookup(client2, "bob") == "200 Found sip:bob@127.0.0.1:7001")
        #expect(try S.shmUsrloc(second)["dirty"] as? Int == 0)
        #expect((3590...3600).contains(S.expiresLeft(S.bindings(client2, "bob")) ?? 0))
    }

    @Test func writeThroughWritesEachChangeAtOnce() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        let config = S.config(url: "sqlite:///" + db, mode: 1)
        let first = try ServerProcess(config: config, readiness: .processesStarted)
        let client = try SIPTestClient(server: first.port)
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        #expect(try S.sqlite(db, "SELECT username, contact FROM location") == "bob|sip:bob@127.0.0.1:7001")
        #expect(S.register(client, "carol", contact: "sip:carol@127.0.0.1:7002")?.statusCode == 200)
        // A refresh updates the row (same ruid), an Expires 0 deletes it.
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001", expires: 1800)?.statusCode == 200)
        #expect(try S.sqlite(db, "SELECT count(*) FROM location WHERE username = 'bob'") == "1")
        let left = try S.sqliteRows(db).split(separator: "\n").first?.split(separator: "|").last.flatMap { Int($0) }
        #expect((1790...1800).contains(left ?? 0))
        #expect(S.register(client, "carol", contact: "sip:carol@127.0.0.1:7002", expires: 0)?.statusCode == 200)
        #expect(try S.sqlite(db, "SELECT username FROM location") == "bob")
        #expect(try S.shmUsrloc(first)["dirty"] as? Int == 0)
        first.stop()

        let second = try ServerProcess(config: config, readiness: .processesStarted)
        defer { second.stop() }
        let client2 = try SIPTestClient(server: second.port)
        #expect(S.lookup(client2, "bob") == "200 Found sip:bob@127.0.0.1:7001")
        #expect(S.lookup(client2, "carol") == "404 Not Found")
    }

    @Test func theTimerWritesBackAndDeletesExpiredRows() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        // A row that expired a minute ago, as Kamailio would have left it.
        _ = try S.sqlite(db, """
            INSERT INTO location (ruid, username, contact, expires, last_modified, callid)
            VALUES ('uloc-old', 'old', 'sip:old@127.0.0.1:7009', julianday('now', '-60 seconds'), julianday('now', '-3660 seconds'), 'c')
            """)
        let server = try ServerProcess(config: S.config(url: "sqlite:///" + db, mode: 2, timerInterval: 1), readiness: .processesStarted)
        defer { server.stop() }
        #expect(server.log.contains("loaded 0 contacts from location"))
        let client = try SIPTestClient(server: server.port)
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        let flushed = waitUntil(timeout: 5) { (try? S.sqlite(db, "SELECT group_concat(username) FROM location")) == "bob" }
        #expect(flushed, "the timer did not write bob and delete the expired row")
        #expect(try S.shmUsrloc(server)["dbWritten"] as? Int == 1)
        #expect(try S.shmUsrloc(server)["dirty"] as? Int == 0)
    }

    /// The master refuses to start when the location table has another version.
    @Test func aWrongTableVersionStopsTheStart() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        _ = try S.sqlite(db, "UPDATE version SET table_version = 8 WHERE table_name = 'location'")
        let file = dir.appendingPathComponent("test.cfg")
        try S.config(url: "sqlite:///" + db, mode: 1).replacingOccurrences(of: "PORT", with: String(try FreePort.server()))
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try Spawn.run(Products.path("respite"), ["-f", file.path, "-DD", "-E"], timeout: 10)
        #expect(r.status != 0)
        #expect(r.output.contains("usrloc:") && r.output.contains("table 'location' has version 8, Respite reads version 9"))
    }

    /// A database that fails under the server: save() answers 500 (Kamailio's answer when
    /// usrloc cannot write), lookups fail, each with a log line; the server goes on.
    @Test func aDatabaseErrorFailsSaveAndLookupCleanly() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        let server = try ServerProcess(config: S.config(url: "sqlite:///" + db, mode: 3), readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        _ = try S.sqlite(db, "ALTER TABLE location RENAME TO location_gone")
        let refused = S.register(client, "alice", contact: "sip:alice@127.0.0.1:7003")
        #expect(refused?.statusCode == 500 && refused?.headerValue("P-Registrar-Error") == "Error while updating location table")
        #expect(S.lookup(client, "bob") == "404 Not Found")
        #expect(server.log.contains("usrloc") && server.log.contains("cannot read the contacts of bob"))
        _ = try S.sqlite(db, "ALTER TABLE location_gone RENAME TO location")
        #expect(S.lookup(client, "bob") == "200 Found sip:bob@127.0.0.1:7001")
        #expect(try S.shmUsrloc(server)["dbFailed"] as? Int ?? 0 >= 2)
    }

    /// Rows Kamailio 5.6.3 writes are read by Respite, and the other way round: the same
    /// SQLite file, write-through on both sides.
    @Test func kamailioAndRespiteReadEachOthersRows() throws {
        let dir = try Spawn.scratchDirectory("uldb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try S.kamailioSQLite(in: dir)
        let config = S.config(url: "sqlite:///" + db, mode: 1)
        try crossRead(config: config, rows: { try S.sqliteRows(db) })
    }
}

/// Kamailio registers alice, Respite (started after it, preloading) finds her with the
/// right expiry; Respite registers carol, Kamailio (started again) finds her.
func crossRead(config: String, rows: () throws -> String) throws {
    typealias S = UsrlocDatabaseSupport
    let kamailio = try KamailioServer(config: config)
    guard waitUntil(timeout: 5, { FreePort.isUDPBound(kamailio.port) }) else {
        throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)")
    }
    let k = try SIPTestClient(server: kamailio.port)
    #expect(S.register(k, "alice", contact: "sip:alice@127.0.0.1:7101", expires: 1200)?.statusCode == 200)
    kamailio.stop()
    #expect(try rows().hasPrefix("alice|sip:alice@127.0.0.1:7101|"))

    let respite = try ServerProcess(config: config, readiness: .processesStarted)
    let r = try SIPTestClient(server: respite.port)
    #expect(S.lookup(r, "alice") == "200 Found sip:alice@127.0.0.1:7101")
    #expect((1190...1200).contains(S.expiresLeft(S.bindings(r, "alice")) ?? 0))
    #expect(S.register(r, "carol", contact: "sip:carol@127.0.0.1:7102", expires: 900)?.statusCode == 200)
    respite.stop()

    let again = try KamailioServer(config: config)
    defer { again.stop() }
    guard waitUntil(timeout: 5, { FreePort.isUDPBound(again.port) }) else {
        throw Spawn.Failure("Kamailio did not start:\n\(again.log)")
    }
    let k2 = try SIPTestClient(server: again.port)
    #expect(S.lookup(k2, "carol") == "200 Found sip:carol@127.0.0.1:7102")
    #expect((890...900).contains(S.expiresLeft(S.bindings(k2, "carol")) ?? 0))
    #expect(S.lookup(k2, "alice") == "200 Found sip:alice@127.0.0.1:7101")
}
