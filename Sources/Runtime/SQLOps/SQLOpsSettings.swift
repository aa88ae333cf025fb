import Database
import Script

/// sqlops' module parameters, read once from the config (docs/modules/sqlops.md#parameters).
struct SQLOpsSettings: Sendable {
    /// `sqlcon` connections: name -> database URL, and the names in the order written.
    var connections: [String: String] = [:]
    var connectionOrder: [String] = []
    /// `sqlres` names declared ahead of use.
    var declaredResults: [String] = []
    /// `results_maxsize`: the most result containers one process keeps.
    var resultsMaxSize = 32
    /// `connect_mode`: 0, the server does not start while a connection's database is
    /// unreachable; 1, it starts and the queries fail (logged) until the database is back.
    var connectMode = 0

    init(_ settings: ConfigSettings) {
        for value in settings.modparams["sqlops"]?["sqlcon"] ?? [] {
            guard case .success(let (name, url)) = Self.parseConnection(value.text), connections[name] == nil else { continue }
            connections[name] = url
            connectionOrder.append(name)
        }
        declaredResults = (settings.modparams["sqlops"]?["sqlres"] ?? []).map(\.text)
        resultsMaxSize = settings.modparamInt("sqlops", "results_maxsize") ?? 32
        connectMode = settings.modparamInt("sqlops", "connect_mode") ?? 0
    }

    static var params: [ModuleParamSpec] {
        [
            ModuleParamSpec("sqlcon", .string) { v in
                if case .failure(let e) = parseConnection(v.text) { return e.message }
                return nil
            },
            ModuleParamSpec("sqlres", .string) { v in
                SQLResultKey.validName(v.text) ? nil : "a result name is letters, digits and _ (got '\(v.text)')"
            },
            ModuleParamSpec("results_maxsize", .int, default: .int(32)) { v in
                if case .int(let n) = v, !(1...10_000).contains(n) { return "results_maxsize must be between 1 and 10000" }
                return nil
            },
            // Kamailio sizes the buffers of its {sql.*} transformations with it; Respite has
            // none (values are bound as parameters), so the value only has to be sane.
            ModuleParamSpec("tr_buf_size", .int, default: .int(2048)) { v in
                if case .int(let n) = v, n <= 0 { return "tr_buf_size must be positive" }
                return nil
            },
            ModuleParamSpec("connect_mode", .int, default: .int(0)) { v in
                if case .int(let n) = v, n != 0 && n != 1 { return "connect_mode is 0 (do not start without the database) or 1 (start anyway)" }
                return nil
            },
        ]
    }

    /// The parameters together: a connection name given twice is an error.
    static let checkParams: @Sendable (inout ModuleParamsContext) -> Void = { pc in
        var seen: Set<String> = []
        for entry in pc.entries where entry.param == "sqlcon" {
            guard case .success(let (name, _)) = parseConnection(entry.value.text) else { continue }
            if !seen.insert(name).inserted { pc.error("sqlcon '\(name)' is defined twice", at: entry.location) }
        }
        pc.derived = SQLOpsSettings(pc.settings)
    }

    /// `name=>url`: a name of letters, digits and `_`, and a URL the database layer reads.
    static func parseConnection(_ text: String) -> Result<(String, String), SQLOpsError> {
        guard let arrow = text.range(of: "=>") else {
            return .failure(SQLOpsError("sqlcon is \"name=>database_url\", got '\(text)'"))
        }
        let name = String(text[..<arrow.lowerBound]).trimmingCharacters(in: " \t")
        let url = String(text[arrow.upperBound...]).trimmingCharacters(in: " \t")
        guard SQLResultKey.validName(name) else {
            return .failure(SQLOpsError("sqlcon name must be letters, digits and _ (got '\(name)')"))
        }
        if case .failure(let e) = DatabaseURL.parse(url) { return .failure(SQLOpsError("sqlcon '\(name)': \(e.message)")) }
        return .success((name, url))
    }

    /// What the start-up check needs (DatabaseStartupCheck): each connection's database,
    /// no tables (the queries name their own); none with connect_mode 1.
    static func databaseRequirements(_ settings: ConfigSettings) -> [DatabaseRequirement] {
        guard settings.modules.contains("sqlops") else { return [] }
        let s = SQLOpsSettings(settings)
        guard s.connectMode == 0 else { return [] }
        var urls: [String] = []
        for name in s.connectionOrder where !urls.contains(s.connections[name]!) { urls.append(s.connections[name]!) }
        return urls.map { DatabaseRequirement(module: "sqlops", url: $0, tables: []) }
    }
}
