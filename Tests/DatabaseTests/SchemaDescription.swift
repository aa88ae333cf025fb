import Database
import Foundation
import TestSupport

/// What a database's catalog says about the tables Respite uses (columns with types,
/// defaults and nullability; indexes with their columns), as comparable lines, so that a
/// database made by `respite-db create` can be held against one made from Kamailio's own
/// schema files. Tables Respite does not use (acc_cdrs) are left out.
enum SchemaDescription {
    static let tables = ["version", "subscriber", "location", "location_attrs", "acc", "missed_calls", "htable"]

    static func describe(_ db: DatabaseConnection) throws -> [String] {
        var lines: [String] = []
        for table in tables {
            switch db.url.engine {
            case .sqlite:
                for r in try db.query("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", [.text(table)]).get().rows {
                    lines.append("\(table) column " + r.map(\.description).joined(separator: " | "))
                }
                let indexes = try db.query("SELECT name, \"unique\" FROM pragma_index_list(?) ORDER BY name", [.text(table)]).get().rows
                for r in indexes {
                    let name = r[0].text ?? ""
                    let columns = try db.query("SELECT name FROM pragma_index_info(?) ORDER BY seqno", [.text(name)]).get().rows
                    lines.append("\(table) index \(name) unique=\(r[1]) (\(columns.map { $0[0].description }.joined(separator: ",")))")
                }
            case .postgres:
                let sql = "SELECT column_name, data_type, character_maximum_length, column_default, is_nullable FROM information_schema.columns "
                    + "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
                for r in try db.query(sql, [.text(table)]).get().rows {
                    lines.append("\(table) column " + r.map(\.description).joined(separator: " | "))
                }
                let indexes = try db.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname", [.text(table)]).get().rows
                for r in indexes { lines.append("\(table) index \(r[0]) \(r[1])") }
            }
            let version = try db.query("SELECT table_version FROM version WHERE table_name = ?", [.text(table)]).get().rows
            lines.append("\(table) version \(version.map { $0[0].description })")
        }
        return lines
    }
}

/// Kamailio 5.6.3 started on a config that reads the database at `url` through `driver`
/// (db_sqlite or db_postgres): usrloc in db_mode 2, auth_db, acc and htable on it. Its
/// registrar and auth_db fixups check the `location` and `subscriber` versions, so it
/// starts only when it accepts the tables. Returns nil when it started, else its log.
func kamailioRefuses(url: String, driver: String) throws -> String? {
    let config = """
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
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "auth.so"
        loadmodule "auth_db.so"
        loadmodule "acc.so"
        loadmodule "htable.so"
        modparam("usrloc", "db_url", "DBURL")
        modparam("usrloc", "db_mode", 2)
        modparam("auth_db", "db_url", "DBURL")
        modparam("auth_db", "load_credentials", "")
        modparam("acc", "db_url", "DBURL")
        modparam("acc", "db_flag", 2)
        modparam("acc", "db_missed_flag", 3)
        modparam("htable", "db_url", "DBURL")
        modparam("htable", "htable", "a=>size=4;dbtable=htable;")
        request_route {
            if (!www_authorize("$td", "subscriber")) { www_challenge("$td", "0"); exit; }
            save("location");
        }
        """
    let kamailio = try KamailioServer(config: config, replacements: ["DBURL": url])
    defer { kamailio.stop() }
    let port = kamailio.port
    _ = waitUntil(timeout: 10, interval: 0.05) { FreePort.isUDPBound(port) || kamailio.log.contains("ERROR") }
    // Bound, and nothing went wrong in the moment after (the children open their connections).
    usleep(300_000)
    let log = kamailio.log
    return FreePort.isUDPBound(port) && !log.contains("ERROR") ? nil : log
}
