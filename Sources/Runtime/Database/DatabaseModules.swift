import Script

/// db_sqlite and db_postgres: the drivers behind `sqlite://` and `postgres://` URLs. They
/// have no functions; loading one makes its URLs usable by the other modules.
enum DatabaseModules {
    static var sqlite: ModuleSpec {
        ModuleSpec(name: "db_sqlite", params: [
            ModuleParamSpec("db_set_readonly", .string),
            ModuleParamSpec("db_set_journal_mode", .string) { v in
                let parts = v.text.split(separator: "=", maxSplits: 1)
                let modes = ["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"]
                guard parts.count == 2, modes.contains(parts[1].uppercased()) else {
                    return "db_set_journal_mode takes \"/path/to/file=MODE\", MODE one of \(modes.joined(separator: ", "))"
                }
                return nil
            },
        ])
    }

    static var postgres: ModuleSpec {
        ModuleSpec(name: "db_postgres", params: [
            ModuleParamSpec("retries", .int, default: .int(2)),
            ModuleParamSpec("timeout", .int, default: .int(0)) { v in
                if case .int(let n) = v, !(0...3600).contains(n) { return "timeout is in seconds, between 0 and 3600" }
                return nil
            },
            ModuleParamSpec("tcp_keepalive", .int, default: .int(0)),
            ModuleParamSpec("lockset", .int, default: .int(4)),
            ModuleParamSpec("bytea_output_escape", .int, default: .int(1)),
            ModuleParamSpec("con_param", .string),
        ])
    }

    /// A module parameter check for a `db_url`: the URL must parse (the driver module is
    /// checked at start, when every `loadmodule` is known).
    static func validateURL(_ value: ConfigValue) -> String? {
        if case .failure(let e) = DatabaseURL.parse(value.text) { return e.message }
        return nil
    }
}

/// The tables Respite reads and writes, with the `version` row each must have: Kamailio
/// 5.6's schema versions, so that a database Kamailio made works unchanged.
public enum DatabaseTables {
    public static let versions: [String: Int] = [
        "version": 1, "subscriber": 7, "location": 9, "location_attrs": 1,
        "acc": 5, "missed_calls": 4, "htable": 2,
    ]
}

extension DatabaseConnection {
    /// Checks that `table` is listed in `version` with the version Respite reads; nil when
    /// it is. The error says what to run.
    public func checkVersion(table: String, expected: Int) -> DatabaseError? {
        switch query("SELECT table_version FROM version WHERE table_name = ?", [.text(table)]) {
        case .failure(let e) where e.kind == .statement:
            return DatabaseError(.schema, "\(url) has no usable 'version' table (\(e.message)); create the tables with `respite-db create`")
        case .failure(let e):
            return e
        case .success(let rows):
            guard let found = rows.rows.first?.first?.int else {
                return DatabaseError(.schema, "\(url): table '\(table)' is not in the 'version' table; create it with `respite-db create`")
            }
            guard found == expected else {
                return DatabaseError(.schema, "\(url): table '\(table)' has version \(found), Respite reads version \(expected); `respite-db migrate` brings it there")
            }
            return nil
        }
    }
}
