import Database
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
