import Foundation
import SIP
import Testing
import TestSupport

/// acc's rows (db_flag, db_missed_flag, db_extra) on a database made from Kamailio's own
/// schema files: Kamailio 5.6.3 and Respite run the same config over UDP, one after the
/// other on the same database, and must leave the same rows in `acc` and `missed_calls`
/// (the time column in each engine's format, close to the time of the call).
@Suite(.serialized) struct AccDatabaseTests {
    static func config(url: String, driver: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        loadmodule "\(driver).so"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "acc.so"
        modparam("acc", "db_url", "\(url)")
        modparam("acc", "db_flag", 1)
        modparam("acc", "db_missed_flag", 2)
        modparam("acc", "failed_transaction_flag", 3)
        modparam("acc", "db_extra", "src_user=$fU;src_ip=$si;dst_user=$hdr(X-None);ruser=$rU")
        request_route {
            if (is_method("ACK")) { t_relay(); exit; }
            setflag(1);
            if ($rU != "nomiss") { setflag(2); }
            if ($rU == "failed") { setflag(3); }
            $du = $hdr(X-Next);
            t_relay();
        }
        """
    }

    static let extraColumns = ["src_user VARCHAR(64) DEFAULT '' NOT NULL", "src_ip VARCHAR(64) DEFAULT '' NOT NULL",
                               "dst_user VARCHAR(64)", "ruser VARCHAR(64) DEFAULT '' NOT NULL"]

    /// A call answered, a MESSAGE, a busy callee with failed_transaction_flag, one without
    /// db_missed_flag, and a 404: three acc rows and two missed_calls rows.
    static func play(port: UInt16) throws {
        let client = try SIPTestClient(server: port)
        let uas = try SIPTestClient(server: port)
        let exchanges = [("MESSAGE", "bob", "200 OK"), ("INVITE", "bob", "200 OK"), ("INVITE", "failed", "486 Busy Here"),
                         ("INVITE", "nomiss", "486 Busy Here"), ("INVITE", "carol", "404 Not Found")]
        for (i, (method, user, status)) in exchanges.enumerated() {
            client.send(client.request(method, user: user, headers: ["X-Next: sip:127.0.0.1:\(uas.port)"], callID: "accdb-\(i)-\(port)"))
            var forwarded: SIPMessage?
            while let m = uas.receive(timeout: 2) { if m.isRequest && m.method.name == method { forwarded = m; break } }
            guard let request = forwarded else { throw Spawn.Failure("no \(method) reached the callee") }
            uas.send(SIPTestClient.reply(to: request.bytes, status))
            guard let final = GoldenServerTests.finalReply(client, timeout: 2) else { throw Spawn.Failure("no final reply to \(method)") }
            if method == "INVITE" && final.statusCode == 200 {
                client.send(SIPTestClient.ack(for: final, requestURI: "sip:\(user)@127.0.0.1:\(port)"))
            }
        }
    }

    /// Runs the exchanges against Kamailio, then Respite, on the same config and database;
    /// `rows(table)` reads a table as lines. Returns each server's rows, call ids made alike.
    static func compare(url: String, driver: String, rows: (String) throws -> [String], clear: () throws -> Void) throws
        -> (kamailio: [String], respite: [String])
    {
        let config = config(url: url, driver: driver)
        func collect(_ port: UInt16) throws -> [String] {
            _ = waitUntil(timeout: 3) { ((try? rows("acc").count) ?? 0) + ((try? rows("missed_calls").count) ?? 0) >= 5 }
            let all = try rows("missed_calls").map { "missed_calls " + $0 } + rows("acc").map { "acc " + $0 }
            return all.map { $0.replacingOccurrences(of: "-\(port)", with: "") }
        }
        let kamailio = try KamailioServer(config: config)
        defer { kamailio.stop() }
        let kamailioPort = kamailio.port
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(kamailioPort) }) else { throw Spawn.Failure("Kamailio did not start:\n\(kamailio.log)") }
        let started = Int(Date().timeIntervalSince1970)
        try play(port: kamailio.port)
        let k = try collect(kamailio.port)
        kamailio.stop()
        try clear()
        let respite = try ServerProcess(config: config, readiness: .processesStarted)
        defer { _ = respite.stop() }
        try play(port: respite.port)
        let r = try collect(respite.port)
        let ended = Int(Date().timeIntervalSince1970)
        // The last field is the time in seconds: within the run, then left out of the comparison.
        func timed(_ lines: [String]) -> [String] {
            lines.map { line in
                var fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                let t = Int(fields.removeLast()) ?? 0
                #expect((started - 2...ended + 2).contains(t), "time \(t) outside \(started)...\(ended): \(line)")
                return fields.joined(separator: "|")
            }
        }
        return (timed(k), timed(r))
    }

    static let expected = [
        "missed_calls INVITE|from-3|callee|accdb-2|486|Busy Here|tester|127.0.0.1|NULL|failed",
        "missed_calls INVITE|from-5|callee|accdb-4|404|Not Found|tester|127.0.0.1|NULL|carol",
        "acc MESSAGE|from-1|callee|accdb-0|200|OK|tester|127.0.0.1|NULL|bob",
        "acc INVITE|from-2|callee|accdb-1|200|OK|tester|127.0.0.1|NULL|bob",
        "acc INVITE|from-3|callee|accdb-2|486|Busy Here|tester|127.0.0.1|NULL|failed",
    ]

    @Test func sqliteRowsAreKamailios() throws {
        let dir = try Spawn.scratchDirectory("accdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("acc.sqlite").path
        try loadKamailioSchema(file, ["standard", "acc"])
        var script: [String] = []
        for table in ["acc", "missed_calls"] { script += Self.extraColumns.map { "ALTER TABLE \(table) ADD COLUMN \($0);" } }
        try sqlite(file, script.joined(separator: "\n"))
        let select = { (table: String) throws -> [String] in
            try sqlite(file, "SELECT method, from_tag, to_tag, callid, sip_code, sip_reason, src_user, src_ip, coalesce(dst_user, 'NULL'), ruser, "
                + "typeof(time), CAST(strftime('%s', time) AS INTEGER) FROM \(table) ORDER BY callid")
                .split(separator: "\n").map(String.init)
        }
        let (k, r) = try Self.compare(url: "sqlite:///" + file, driver: "db_sqlite", rows: select) {
            try sqlite(file, "DELETE FROM acc; DELETE FROM missed_calls;")
        }
        let expected = Self.expected.map { $0 + "|real" }
        #expect(k == expected, "Kamailio:\n\(k.joined(separator: "\n"))")
        #expect(r == k, "Respite:\n\(r.joined(separator: "\n"))\nKamailio:\n\(k.joined(separator: "\n"))")
    }

    @Test func postgresRowsAreKamailios() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for file in ["standard", "acc"] { try cluster.psql(file: "/usr/share/kamailio/postgres/\(file)-create.sql") }
        for table in ["acc", "missed_calls"] {
            try cluster.psql(Self.extraColumns.map { "ALTER TABLE \(table) ADD COLUMN \($0);" }.joined())
        }
        let select = { (table: String) throws -> [String] in
            try cluster.psql("SELECT method || '|' || from_tag || '|' || to_tag || '|' || callid || '|' || sip_code || '|' || sip_reason || '|' "
                + "|| src_user || '|' || src_ip || '|' || coalesce(dst_user, 'NULL') || '|' || ruser || '|' "
                + "|| extract(epoch from (time AT TIME ZONE current_setting('TimeZone')))::bigint FROM \(table) ORDER BY callid")
                .split(separator: "\n").map(String.init)
        }
        let (k, r) = try Self.compare(url: cluster.url, driver: "db_postgres", rows: select) {
            try cluster.psql("DELETE FROM acc; DELETE FROM missed_calls;")
        }
        // db_postgres writes a null extra as an empty string, db_sqlite as NULL.
        #expect(k == Self.expected.map { $0.replacingOccurrences(of: "|NULL|", with: "||") }, "Kamailio:\n\(k.joined(separator: "\n"))")
        #expect(r == k, "Respite:\n\(r.joined(separator: "\n"))\nKamailio:\n\(k.joined(separator: "\n"))")
    }

    @Test func aMissingTableStopsTheStart() throws {
        let dir = try Spawn.scratchDirectory("accdb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("empty.sqlite").path
        try loadKamailioSchema(file, ["standard"])
        do {
            let server = try ServerProcess(config: Self.config(url: "sqlite:///" + file, driver: "db_sqlite"), readiness: .processesStarted)
            _ = server.stop()
            Issue.record("the server started without the acc table")
        } catch {
            let text = "\(error)"
            #expect(text.contains("acc: ") && text.contains("'acc'"), "\(text)")
        }
    }
}

/// Kamailio's SQLite schema files `names` loaded into `file` with the sqlite3 tool.
private func loadKamailioSchema(_ file: String, _ names: [String]) throws {
    let paths = names.map { "/usr/share/kamailio/db_sqlite/\($0)-create.sql" }
    let r = try Spawn.run("/bin/sh", ["-c", "cat \"$@\" | sqlite3 -batch \"$0\"", file] + paths)
    guard r.status == 0, r.stderr.isEmpty else { throw Spawn.Failure("sqlite3 failed: \(r.output)") }
}

/// Runs `sql` with the sqlite3 command-line tool on `file`; returns its output.
@discardableResult
private func sqlite(_ file: String, _ sql: String) throws -> String {
    let r = try Spawn.run("/usr/bin/sqlite3", ["-batch", file, sql])
    guard r.status == 0, !r.stderr.contains("Error") else { throw Spawn.Failure("sqlite3 failed: \(r.output)") }
    return r.stdout
}
