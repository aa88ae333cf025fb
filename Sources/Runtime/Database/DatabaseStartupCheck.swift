import Database
import Script

/// What a loaded module needs from a database: the URL and the tables it reads or writes.
public struct DatabaseRequirement: Sendable, Equatable {
    public var module: String
    public var url: String
    public var tables: [String]

    public init(module: String, url: String, tables: [String]) {
        self.module = module
        self.url = url
        self.tables = tables
    }
}

/// The start-up check, in the master before any fork: every database a module needs is
/// reachable, its driver module is loaded, and its tables have the versions Respite reads.
/// A failure is a critical line naming the module, the URL (without password) and what to
/// do; nothing is started.
public enum DatabaseStartupCheck {
    /// What the loaded modules need: each module that uses a database adds one line here
    /// (its own `databaseRequirements`), so that this is the one place to look.
    public static func requirements(_ settings: ConfigSettings) -> [DatabaseRequirement] {
        let single: [DatabaseRequirement?] = [
            UsrlocSettings.databaseRequirement(settings),
            AuthDBSettings.databaseRequirement(settings),
        ]
        return single.compactMap { $0 } + SQLOpsSettings.databaseRequirements(settings)
            + AccDatabase.requirements(settings)
            + HTableDatabase.requirements(settings)
    }

    /// Returns the error lines (empty: every database is ready). The connections are
    /// closed again: each process opens its own after fork.
    public static func run(_ settings: ConfigSettings) -> [String] {
        var errors: [String] = []
        var checked: [String: DatabaseConnection] = [:]
        let options = DatabaseSettings(settings)
        for need in requirements(settings) {
            let url: DatabaseURL
            switch DatabaseURL.parse(need.url) {
            case .failure(let e):
                errors.append("\(need.module): \(e.message)")
                continue
            case .success(let u): url = u
            }
            guard settings.modules.contains(url.driverModule) else {
                errors.append("\(need.module): \(url) needs the \(url.driverModule) module: loadmodule \"\(url.driverModule).so\"")
                continue
            }
            let connection = checked[need.url] ?? DatabaseConnection(url: url, options: options.options(for: url))
            checked[need.url] = connection
            if let e = connection.open() {
                errors.append("\(need.module): \(e.message)")
                continue
            }
            for table in need.tables {
                guard let expected = DatabaseTables.versions[table] else { continue }
                if let e = connection.checkVersion(table: table, expected: expected) {
                    errors.append("\(need.module): \(e.message)")
                }
            }
        }
        for c in checked.values { c.close() }
        return errors
    }
}
