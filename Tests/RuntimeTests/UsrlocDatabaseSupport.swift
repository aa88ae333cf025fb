import Foundation
import SIP
import TestSupport

/// What the usrloc database tests share: a registrar config for Respite and Kamailio 5.6.3
/// alike, SQLite files made from Kamailio's own schema files, and small SIP exchanges.
enum UsrlocDatabaseSupport {
    /// REGISTER saves; OPTIONS answers "Found <contact>" after lookup; INVITE is relayed
    /// to the contact lookup finds. DRIVER, DBURL, MODE, TIMER are replaced per test.
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "DRIVER.so"
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    loadmodule "usrloc.so"
    loadmodule "registrar.so"
    modparam("usrloc", "db_url", "DBURL")
    modparam("usrloc", "db_mode", MODE)
    modparam("usrloc", "timer_interval", TIMER)
    request_route {
        if (is_method("REGISTER")) {
            if (!save("location")) { sl_reply_error(); }
            exit;
        }
        if (is_method("ACK")) { t_relay(); exit; }
        if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
        if (is_method("OPTIONS")) { sl_send_reply("200", "Found $ru"); exit; }
        t_relay();
    }
    """

    static func config(url: String, mode: Int, timerInterval: Int = 60) -> String {
        let driver = url.hasPrefix("sqlite") ? "db_sqlite" : "db_postgres"
        return config.replacingOccurrences(of: "DRIVER", with: driver).replacingOccurrences(of: "DBURL", with: url)
            .replacingOccurrences(of: "MODE", with: String(mode)).replacingOccurrences(of: "TIMER", with: String(timerInterval))
    }

    /// A SQLite file made by the sqlite3 CLI from Kamailio's standard and usrloc schema
    /// files; returns its path.
    static func kamailioSQLite(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("kamailio.sqlite").path
        let schema = "/usr/share/kamailio/db_sqlite"
        let r = try Spawn.run("/bin/sh", ["-c", "cat \(schema)/standard-create.sql \(schema)/usrloc-create.sql | sqlite3 \(path)"])
        guard r.status == 0 else { throw Spawn.Failure("sqlite3 failed: \(r.output)") }
        return path
    }

    /// Runs SQL with the sqlite3 CLI; its output, trimmed.
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        let r = try Spawn.run("/usr/bin/sqlite3", [path, sql])
        guard r.status == 0 else { throw Spawn.Failure("sqlite3 failed: \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The `location` rows of a SQLite file: username|contact|callid|cseq|q|seconds left,
    /// `expires` read as Kamailio 5.6 writes it there (a Julian day).
    static func sqliteRows(_ path: String) throws -> String {
        try sqlite(path, """
            SELECT username, contact, callid, cseq, q,
                   CAST(ROUND((expires - 2440587.5) * 86400) AS INTEGER) - CAST(strftime('%s', 'now') AS INTEGER)
            FROM location ORDER BY username
            """)
    }

    /// REGISTER `user` with one Contact; the final reply.
    static func register(_ client: SIPTestClient, _ user: String, contact: String, expires: Int = 3600) -> SIPMessage? {
        client.exchange(client.request("REGISTER", user: user, headers: ["Contact: <\(contact)>", "Expires: \(expires)"]))
    }

    /// REGISTER `user` without a Contact: the Contact header of the 200 (the bindings).
    static func bindings(_ client: SIPTestClient, _ user: String) -> String? {
        let r = client.exchange(client.request("REGISTER", user: user, headers: ["X-Query: 1"])
            .replacingOccurrences(of: "Contact: <sip:tester@127.0.0.1:\(client.port)>\r\n", with: ""))
        return r?.statusCode == 200 ? r?.headerValue("Contact") ?? "" : nil
    }

    /// OPTIONS to `user`: the reply's "code reason" ("200 Found sip:...", "404 Not Found").
    static func lookup(_ client: SIPTestClient, _ user: String) -> String {
        guard let r = client.exchange(client.request("OPTIONS", user: user)) else { return "no reply" }
        return "\(r.statusCode) \(r.reasonPhrase)"
    }

    /// The seconds left in a binding list "<uri>;expires=N" (the first one).
    static func expiresLeft(_ bindings: String?) -> Int? {
        guard let b = bindings, let r = b.range(of: "expires=") else { return nil }
        return Int(b[r.upperBound...].prefix { $0.isNumber })
    }

    /// `respite-shm --json`'s usrloc section.
    static func shmUsrloc(_ server: ServerProcess) throws -> [String: Any] {
        let r = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName, "--json"], timeout: 10)
        guard r.status == 0, let top = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let usrloc = top["usrloc"] as? [String: Any] else {
            throw Spawn.Failure("respite-shm: no usrloc section: \(r.output)")
        }
        return usrloc
    }

    /// `respite-shm`'s text report.
    static func shmText(_ server: ServerProcess) throws -> String {
        try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName], timeout: 10).stdout
    }
}
