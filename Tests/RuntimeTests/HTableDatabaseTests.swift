import Foundation
import SIP
import Testing
import TestSupport

/// htable's `dbtable` and `dbmode=1` on a table made from Kamailio's own schema file:
/// Kamailio 5.6.3 and Respite, one after the other on the same rows, must show the same
/// loaded values to the script and leave the same rows behind when stopped.
@Suite(.serialized) struct HTableDatabaseTests {
    static func config(url: String, driver: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        loadmodule "\(driver).so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "htable.so"
        modparam("htable", "db_url", "\(url)")
        modparam("htable", "htable", "a=>size=4;dbtable=htable;dbmode=1;")
        modparam("htable", "htable", "b=>size=2;")
        request_route {
            $var(seen) = "alice=" + $sht(a=>alice) + ";count=" + $sht(a=>count) + ";nasty=" + $sht(a=>nasty) + ";size=" + $sht(a=>arr::size);
            $sht(a=>new) = "v-" + $rU;
            $sht(a=>count) = $sht(a=>count) + 1;
            $sht(a=>alice) = $null;
            sl_send_reply("200", "$var(seen)");
        }
        """
    }

    static let rows = [
        ("alice", 0, 0, "sip:alice@example.com"), ("count", 0, 1, "42"), ("nasty", 0, 0, "o'brien\"; DROP TABLE htable; --"),
        ("arr", 1, 0, "first"), ("arr", 1, 0, "second"), ("arr", 1, 1, "3"),
    ]

    /// One server's turn: the reply's reason (what the script read) and the rows left.
    static func turn(port: UInt16, stop: () -> Void, rows: () throws -> [String]) throws -> (String, [String]) {
        let client = try SIPTestClient(server: port)
        client.send(client.request("MESSAGE", user: "bob"))
        guard let reply = GoldenServerTests.finalReply(client, timeout: 3) else { throw Spawn.Failure("no reply") }
        stop()
        return (reply.reasonPhrase, try rows().sorted())
    }

    /// The statements that put `rows` in the table (values quoted for SQL text: test data).
    static var resetSQL: String {
        var script = "DELETE FROM htable;"
        for (k, t, v, value) in rows {
            script += "INSERT INTO htable (key_name, key_type, value_type, key_value) VALUES ('\(k.replacingOccurrences(of: "'", with: "''"))', \(t), \(v), '\(value.replacingOccurrences(of: "'", with: "''"))');"
        }
        return script
    }

    static let select = "SELECT key_name || '|' || key_type || '|' || value_type || '|' || key_value || '|' || expires FROM htable"

    /// Kamailio's turn, then Respite's, on the same rows (`run` runs SQL, returns lines).
    static func compare(url: String, driver: String, run: (String) throws -> [String]) throws
        -> (kamailio: (String, [String]), respite: (String, [String]), log: String)
    {
        let config = config(url: url, driver: driver)
        _ = try run(resetSQL)
        let kamailio = try KamailioServer(config: config)
        defer { kamailio.stop() }
        let kport = kamailio.port
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(kport) }) else { throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)") }
        let k = try turn(port: kport, stop: { kamailio.stopGently() }, rows: { try run(select) })
        _ = try run(resetSQL)
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        let r = try turn(port: respite.port, stop: { _ = respite.stop() }, rows: { try run(select) })
        return (k, r, respite.log)
    }

    static func check(_ k: (String, [String]), _ r: (String, [String]), log: String) {
        #expect(k.0 == "alice=sip:alice@example.com;count=42;nasty=o'brien\"; DROP TABLE htable; --;size=3", "\(k.0)")
        #expect(r.0 == k.0)
        #expect(k.1.contains("new|0|0|v-bob|0") && k.1.contains("count|0|1|43|0") && !k.1.contains { $0.hasPrefix("alice|") }, "\(k.1)")
        #expect(r.1 == k.1, "Respite:\n\(r.1.joined(separator: "\n"))\nKamailio:\n\(k.1.joined(separator: "\n"))")
        #expect(log.contains("loaded 6 items into 'a' from table 'htable'"))
    }

    @Test func sqliteLoadAndWriteBackAsKamailio() throws {
        let dir = try Spawn.scratchDirectory("htdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ht.sqlite").path
        let paths = ["standard", "htable"].map { "/usr/share/kamailio/db_sqlite/\($0)-create.sql" }
        let made = try Spawn.run("/bin/sh", ["-c", "cat \"$@\" | sqlite3 -batch \"$0\"", file] + paths)
        #expect(made.status == 0, "\(made.output)")
        let (k, r, log) = try Self.compare(url: "sqlite:///" + file, driver: "db_sqlite") { sql in
            let out = try Spawn.run("/usr/bin/sqlite3", ["-batch", file, sql])
            guard out.status == 0 else { throw Spawn.Failure("sqlite3: \(out.output)") }
            return out.stdout.split(separator: "\n").map(String.init)
        }
        Self.check(k, r, log: log)
    }

    @Test func postgresLoadWriteBackReloadAndStore() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for file in ["standard", "htable"] { try cluster.psql(file: "/usr/share/kamailio/postgres/\(file)-create.sql") }
        let run = { (sql: String) throws -> [String] in try cluster.psql(sql).split(separator: "\n").map(String.init) }
        let (k, r, log) = try Self.compare(url: cluster.url, driver: "db_postgres", run: run)
        Self.check(k, r, log: log)

        // htable.reload reads the rows again; htable.store writes the items now.
        let dir = try Spawn.scratchDirectory("htdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = Self.config(url: cluster.url, driver: "db_postgres")
            .replacingOccurrences(of: "loadmodule \"htable.so\"", with: "loadmodule \"htable.so\"\nloadmodule \"ctl.so\"\nmodparam(\"ctl\", \"binrpc\", \"unix:\(dir.path)/ctl.sock\")")
        _ = try run(Self.resetSQL)
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        func kamcmd(_ args: String...) throws -> RunResult {
            try Spawn.run("/usr/sbin/kamcmd", ["-s", "unix:\(dir.path)/ctl.sock"] + args, timeout: 10)
        }
        let client = try SIPTestClient(server: respite.port)
        client.send(client.request("MESSAGE", user: "bob"))
        #expect(GoldenServerTests.finalReply(client, timeout: 3)?.reasonPhrase.contains("count=42") == true)
        _ = try run("UPDATE htable SET key_value = '99' WHERE key_name = 'count'")
        let reloaded = try kamcmd("htable.reload", "a")
        #expect(reloaded.status == 0, "\(reloaded.output)")
        client.send(client.request("MESSAGE", user: "carol"))
        let again = GoldenServerTests.finalReply(client, timeout: 3)?.reasonPhrase ?? ""
        #expect(again.hasPrefix("alice=sip:alice@example.com;count=99;"), "\(again)")
        let stored = try kamcmd("htable.store", "a")
        #expect(stored.status == 0, "\(stored.output)")
        let rows = try run(Self.select)
        #expect(rows.contains("new|0|0|v-carol|0") && rows.contains("count|0|1|100|0"), "\(rows)")
        let tables = try kamcmd("htable.listTables")
        #expect(tables.stdout.contains("dbtable: htable") && tables.stdout.contains("dbmode: 1"), "\(tables.stdout)")
        let none = try kamcmd("htable.reload", "b")
        #expect(none.status != 0 || none.output.contains("no dbtable"), "\(none.output)")
    }

    /// db_expires=1 on a table with autoexpire: a row whose time has passed is not loaded,
    /// one without a time takes the autoexpire, and the times written back are the ones
    /// read (to the second), on both servers.
    @Test func sqliteExpiresAsKamailio() throws {
        let dir = try Spawn.scratchDirectory("htdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ht.sqlite").path
        let paths = ["standard", "htable"].map { "/usr/share/kamailio/db_sqlite/\($0)-create.sql" }
        _ = try Spawn.run("/bin/sh", ["-c", "cat \"$@\" | sqlite3 -batch \"$0\"", file] + paths)
        let now = Int(Date().timeIntervalSince1970)
        func sql(_ text: String) throws -> [String] {
            let r = try Spawn.run("/usr/bin/sqlite3", ["-batch", file, text])
            guard r.status == 0 else { throw Spawn.Failure("sqlite3: \(r.output)") }
            return r.stdout.split(separator: "\n").map(String.init)
        }
        let reset = "DELETE FROM htable; INSERT INTO htable (key_name, key_type, value_type, key_value, expires) VALUES "
            + "('soon', 0, 0, 'x', \(now + 100)), ('past', 0, 0, 'y', \(now - 100)), ('never', 0, 1, '5', 0);"
        let config = Self.config(url: "sqlite:///" + file, driver: "db_sqlite")
            .replacingOccurrences(of: "a=>size=4;dbtable=htable;dbmode=1;", with: "a=>size=4;autoexpire=600;dbtable=htable;dbmode=1;")
            .replacingOccurrences(of: "modparam(\"htable\", \"db_url\"", with: "modparam(\"htable\", \"db_expires\", 1)\nmodparam(\"htable\", \"db_url\"")
        let read = "SELECT key_name, expires - \(now) FROM htable ORDER BY key_name"
        _ = try sql(reset)
        let kamailio = try KamailioServer(config: config)
        defer { kamailio.stop() }
        let kport = kamailio.port
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(kport) }) else { throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)") }
        // A request answered: every process is up, so the stop is an orderly one.
        let k = try Self.turn(port: kport, stop: { kamailio.stopGently() }, rows: { try sql(read) }).1
        _ = try sql(reset)
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        let r = try Self.turn(port: respite.port, stop: { _ = respite.stop() }, rows: { try sql(read) }).1
        for rows in [k, r] {
            let left = Dictionary(rows.map { ($0.split(separator: "|")[0], Int($0.split(separator: "|")[1]) ?? 0) }, uniquingKeysWith: { a, _ in a })
            #expect(left["soon"] == 100 && left["past"] == nil, "\(rows)")
            #expect((599...615).contains(left["never"] ?? 0), "\(rows)")
        }
    }

    @Test func aBadValueStopsTheStart() throws {
        let dir = try Spawn.scratchDirectory("htdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ht.sqlite").path
        let paths = ["standard", "htable"].map { "/usr/share/kamailio/db_sqlite/\($0)-create.sql" }
        _ = try Spawn.run("/bin/sh", ["-c", "cat \"$@\" | sqlite3 -batch \"$0\"", file] + paths)
        _ = try Spawn.run("/usr/bin/sqlite3", [file, "INSERT INTO htable (key_name, value_type, key_value) VALUES ('n', 1, 'not a number')"])
        do {
            let server = try ServerProcess(config: Self.config(url: "sqlite:///" + file, driver: "db_sqlite"), readiness: .processesStarted)
            _ = server.stop()
            Issue.record("the server started with a value it cannot load")
        } catch {
            #expect("\(error)".contains("cannot load 'a'") && "\(error)".contains("not an integer"), "\(error)")
        }
    }
}
