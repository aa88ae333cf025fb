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

    @Test func sqliteLoadAndWriteBackAsKamailio() throws {
        let dir = try Spawn.scratchDirectory("htdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ht.sqlite").path
        let paths = ["standard", "htable"].map { "/usr/share/kamailio/db_sqlite/\($0)-create.sql" }
        let made = try Spawn.run("/bin/sh", ["-c", "cat \"$@\" | sqlite3 -batch \"$0\"", file] + paths)
        #expect(made.status == 0, "\(made.output)")
        func sql(_ text: String, _ args: [String] = []) throws -> String {
            let r = try Spawn.run("/usr/bin/sqlite3", ["-batch", file, text])
            guard r.status == 0 else { throw Spawn.Failure("sqlite3: \(r.output)") }
            return r.stdout
        }
        func reset() throws {
            var script = "DELETE FROM htable;"
            for (k, t, v, value) in Self.rows {
                script += "INSERT INTO htable (key_name, key_type, value_type, key_value) VALUES ('\(k.replacingOccurrences(of: "'", with: "''"))', \(t), \(v), '\(value.replacingOccurrences(of: "'", with: "''"))');"
            }
            _ = try sql(script)
        }
        let read = { try sql("SELECT key_name, key_type, value_type, key_value, expires FROM htable").split(separator: "\n").map(String.init) }
        let config = Self.config(url: "sqlite:///" + file, driver: "db_sqlite")

        try reset()
        let kamailio = try KamailioServer(config: config)
        defer { kamailio.stop() }
        let kport = kamailio.port
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(kport) }) else { throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)") }
        let k = try Self.turn(port: kport, stop: { kamailio.stop() }, rows: read)

        try reset()
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        let r = try Self.turn(port: respite.port, stop: { _ = respite.stop() }, rows: read)

        #expect(k.0 == "alice=sip:alice@example.com;count=42;nasty=o'brien\"; DROP TABLE htable; --;size=3", "\(k.0)")
        #expect(r.0 == k.0)
        #expect(k.1.contains("new|0|0|v-bob|0") && k.1.contains("count|0|1|43|0") && !k.1.contains { $0.hasPrefix("alice|") }, "\(k.1)")
        #expect(r.1 == k.1, "Respite:\n\(r.1.joined(separator: "\n"))\nKamailio:\n\(k.1.joined(separator: "\n"))")
        #expect(respite.log.contains("loaded 6 items into 'a' from table 'htable'"))
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
