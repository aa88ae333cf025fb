import Foundation
import Testing
import TestSupport

/// Issue 14's first "done when": Debian's stock kamailio.cfg with its one documented edit
/// (db_mysql.so -> db_sqlite.so) and `-A WITH_MYSQL -A WITH_AUTH -A WITH_USRLOCDB
/// -A DBURL="sqlite:////path"`, on a database made from Kamailio's own SQLite schema files,
/// run on Kamailio 5.6.3 and on Respite with the same files: REGISTER is challenged (401)
/// and accepted with credentials, a wrong password is refused, an INVITE is challenged
/// (407), a call between the two registered users completes, and after SIGTERM bob's
/// contact is in the location table (usrloc db_mode 2 writes it back at shutdown).
@Suite(.serialized) struct StockConfigDatabaseTests {
    static let schema = "/usr/share/kamailio/db_sqlite"
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Configs").path

    /// A SQLite file from Kamailio's schema files, with alice and bob as kamctl adds them.
    static func database(_ dir: URL) throws -> String {
        let path = dir.appendingPathComponent("kamailio.sqlite").path
        var sql = ""
        for table in ["standard", "auth_db", "usrloc", "acc"] {
            sql += try String(contentsOfFile: "\(schema)/\(table)-create.sql", encoding: .utf8) + "\n"
        }
        for (user, password) in [("alice", "alicepw"), ("bob", "bobpw")] {
            sql += "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('\(user)', '127.0.0.1', '\(password)', "
                + "'\(md5("\(user):127.0.0.1:\(password)"))', '\(md5("\(user)@127.0.0.1:127.0.0.1:\(password)"))');\n"
        }
        let script = dir.appendingPathComponent("schema.sql")
        try sql.write(to: script, atomically: true, encoding: .utf8)
        let made = try Spawn.run("/bin/sh", ["-c", "sqlite3 \"$0\" < \"$1\"", path, script.path])
        guard made.status == 0 else { throw Spawn.Failure("sqlite3: \(made.output)") }
        return path
    }

    static func md5(_ text: String) -> String {
        let r = try? Spawn.run("/bin/sh", ["-c", "printf '%s' \"$0\" | md5sum", text])
        return String((r?.stdout ?? "").prefix(32))
    }

    /// The stock file with its one edit: the database driver.
    static func config(_ dir: URL) throws -> String {
        let text = try String(contentsOfFile: StockConfigTests.stockConfig, encoding: .utf8)
            .replacingOccurrences(of: "loadmodule \"db_mysql.so\"", with: "loadmodule \"db_sqlite.so\"")
        let path = dir.appendingPathComponent("kamailio.cfg").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func defines(_ database: String) -> [String] {
        ["-A", "WITH_MYSQL", "-A", "WITH_AUTH", "-A", "WITH_USRLOCDB", "-A", "DBURL=\"sqlite:///\(database)\""]
    }

    static func sipp(_ port: UInt16, _ scenario: String, _ args: [String]) throws -> RunResult {
        try Spawn.run("/usr/bin/sipp", ["127.0.0.1:\(port)", "-sf", "\(scenarios)/\(scenario)", "-i", "127.0.0.1",
                                        "-m", "1", "-nostdin", "-timeout", "15", "-timeout_error"] + args, timeout: 25)
    }

    /// The exchanges, against the server on `port`; returns what went wrong (empty: all well).
    static func play(_ port: UInt16) throws -> [String] {
        var problems: [String] = []
        let bobPort = try FreePort.udp(), alicePort = try FreePort.udp()
        let wrong = try sipp(port, "sipp-auth-register.xml", ["-s", "bob", "-au", "bob", "-ap", "not-bobs", "-key", "contact_port", String(bobPort),
                                                               "-p", String(try FreePort.udp())])
        if wrong.status == 0 { problems.append("a REGISTER with a wrong password was accepted") }
        let dir = try Spawn.scratchDirectory("callee")
        defer { try? FileManager.default.removeItem(at: dir) }
        let calleeLog = dir.appendingPathComponent("callee.log").path
        let callee = try Spawn.start("/usr/bin/sipp", ["-sf", "\(scenarios)/sipp-callee.xml", "-s", "bob", "-i", "127.0.0.1", "-p", String(bobPort),
                                                       "-m", "1", "-nostdin", "-timeout", "20", "-timeout_error"],
                                     stdoutPath: calleeLog, stderrPath: calleeLog, directory: dir.path)
        defer { _ = callee.stop(timeout: 1) }
        _ = waitUntil(timeout: 5) { FreePort.isUDPBound(bobPort) }
        for (user, password, contact) in [("bob", "bobpw", bobPort), ("alice", "alicepw", alicePort)] {
            let r = try sipp(port, "sipp-auth-register.xml", ["-s", user, "-au", user, "-ap", password, "-key", "contact_port", String(contact),
                                                               "-p", String(try FreePort.udp())])
            if r.status != 0 { problems.append("\(user)'s authenticated REGISTER (401, then 200) failed: \(r.output.suffix(600))") }
        }
        let call = try sipp(port, "sipp-auth-caller.xml", ["-s", "bob", "-au", "alice", "-ap", "alicepw", "-key", "caller", "alice",
                                                            "-p", String(alicePort)])
        if call.status != 0 { problems.append("alice's call (407, then 200, ACK, BYE) failed: \(call.output.suffix(600))") }
        if callee.waitUntilExit(timeout: 10) != .exited(0) {
            problems.append("bob did not answer the call: \((try? String(contentsOfFile: calleeLog, encoding: .utf8))?.suffix(600) ?? "")")
        }
        return problems
    }

    static func location(_ database: String) throws -> String {
        try Spawn.run("/usr/bin/sqlite3", [database, "SELECT username, contact FROM location ORDER BY username"]).stdout
    }

    @Test func authenticatedRegistrarAndCallOnSQLiteOnBothServers() throws {
        for server in ["kamailio", "respite"] {
            let dir = try Spawn.scratchDirectory("stockdb-\(server)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let database = try Self.database(dir), config = try Self.config(dir)
            let port = try FreePort.server()
            let stop: () -> Termination?
            let log: () -> String
            if server == "kamailio" {
                let k = try KamailioServer(configPath: config, port: port, directory: dir, listen: true, extraArgs: Self.defines(database))
                stop = { k.stop() }
                log = { k.log }
            } else {
                let logPath = dir.appendingPathComponent("respite.log").path
                let r = try Spawn.start(Products.path("respite"), ["-f", config, "-l", "udp:127.0.0.1:\(port)", "-DD", "-E", "-Y", dir.path,
                                                                   "--shm-name", "/respite-stockdb-\(getpid())"] + Self.defines(database),
                                        stdoutPath: logPath, stderrPath: logPath)
                stop = { r.stop(timeout: 10) }
                log = { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
            }
            try #require(waitUntil(timeout: 10, interval: 0.1) { FreePort.isUDPBound(port) }, "\(server) started: \(log())")
            usleep(500_000)
            let problems = try Self.play(port)
            #expect(problems.isEmpty, "\(server): \(problems.joined(separator: "\n"))\n\(log().suffix(1500))")
            // SIGTERM: db_mode 2 writes the contacts back before the server exits.
            let end = stop()
            #expect(end == .exited(0) || end == .signaled(SIGTERM), "\(server) stopped: \(String(describing: end))")
            let rows = try Self.location(database)
            #expect(rows.contains("bob|sip:bob@127.0.0.1:"), "\(server): bob's row after SIGTERM, location holds: \(rows)")
        }
    }
}
