import Database
import Script

/// auth_db's parameters, read once when the config loads.
public struct AuthDBSettings: Sendable {
    public var url: String?
    public var userColumn = "username"
    public var domainColumn = "domain"
    public var passwordColumn = "ha1"
    public var passwordColumn2 = "ha1b"
    public var calculateHA1 = false
    public var useDomain = false
    /// `load_credentials`: the columns copied into AVPs after a successful check.
    public var loadCredentials: [LoadedCredential] = []
    /// `version_table`: the subscriber table's version is checked at start.
    public var versionTable = true
    /// `force_generate_avps`: the AVPs are loaded even when the check fails.
    public var forceGenerateAVPs = false

    /// One `load_credentials` item: `column`, or `$avp(name)=column`.
    public struct LoadedCredential: Sendable, Equatable {
        public var avp: String
        public var column: String
    }

    public static let module = "auth_db"

    static var params: [ModuleParamSpec] {
        [
            ModuleParamSpec("db_url", .string, validate: DatabaseModules.validateURL),
            ModuleParamSpec("user_column", .string, default: .string("username"), validate: identifier),
            ModuleParamSpec("domain_column", .string, default: .string("domain"), validate: identifier),
            ModuleParamSpec("password_column", .string, default: .string("ha1"), validate: identifier),
            ModuleParamSpec("password_column_2", .string, default: .string("ha1b"), validate: identifier),
            ModuleParamSpec("calculate_ha1", .int, default: .int(0)),
            ModuleParamSpec("use_domain", .int, default: .int(0)),
            ModuleParamSpec("load_credentials", .string, default: .string("")) { v in
                switch parseLoadCredentials(v.text) {
                case .success: nil
                case .failure(let e): e.message
                }
            },
            ModuleParamSpec("version_table", .int, default: .int(1)),
            ModuleParamSpec("force_generate_avps", .int, default: .int(0)),
        ]
    }

    public init(_ settings: ConfigSettings) {
        let m = Self.module
        url = settings.modparam(m, "db_url")?.text
        if let v = settings.modparam(m, "user_column")?.text { userColumn = v }
        if let v = settings.modparam(m, "domain_column")?.text { domainColumn = v }
        if let v = settings.modparam(m, "password_column")?.text { passwordColumn = v }
        if let v = settings.modparam(m, "password_column_2")?.text { passwordColumn2 = v }
        calculateHA1 = (settings.modparamInt(m, "calculate_ha1") ?? 0) != 0
        useDomain = (settings.modparamInt(m, "use_domain") ?? 0) != 0
        if let v = settings.modparam(m, "load_credentials")?.text,
            case .success(let list) = Self.parseLoadCredentials(v)
        {
            loadCredentials = list
        }
        versionTable = (settings.modparamInt(m, "version_table") ?? 1) != 0
        forceGenerateAVPs = (settings.modparamInt(m, "force_generate_avps") ?? 0) != 0
    }

    struct ParseError: Error { let message: String }

    /// `credential (';' credential)*`, credential = `column` or `$avp(name)=column`
    /// (`name` may be written `s:name` or `i:number`). "" loads nothing.
    static func parseLoadCredentials(_ text: String) -> Result<[LoadedCredential], ParseError> {
        var out: [LoadedCredential] = []
        for raw in text.split(separator: ";") {
            let item = raw.trimmingSpaces
            if item.isEmpty { continue }
            var avp: String, column: String
            if let eq = item.firstIndex(of: "=") {
                let spec = item[..<eq].trimmingSpaces
                column = String(item[item.index(after: eq)...].trimmingSpaces)
                guard spec.hasPrefix("$avp("), spec.hasSuffix(")"), spec.count > 6 else {
                    return .failure(ParseError(message: "load_credentials: '\(spec)' is not an $avp(name)"))
                }
                avp = String(spec.dropFirst(5).dropLast())
                if avp.hasPrefix("s:") { avp = String(avp.dropFirst(2)) }
            } else {
                column = String(item)
                avp = String(item)
            }
            if let e = identifier(.string(column)) { return .failure(ParseError(message: "load_credentials: \(e)")) }
            guard !avp.isEmpty else {
                return .failure(ParseError(message: "load_credentials: empty AVP name for '\(column)'"))
            }
            out.append(LoadedCredential(avp: avp, column: column))
        }
        return .success(out)
    }

    /// A table or column name: letters, digits, `_` and `.` (names go into SQL text, so
    /// nothing else is allowed).
    static func identifier(_ v: ConfigValue) -> String? {
        isIdentifier(v.text) ? nil : "'\(v.text)' is not a table or column name (letters, digits, _ and . only)"
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 64, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy {
            (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 46
        }
    }
}

extension AuthDBSettings {
    /// The start-up check's line for auth_db: its db_url and the `subscriber` table (at
    /// Kamailio 5.6's version 7) unless version_table is 0. Tables named only in function
    /// calls are not known here; a config whose credentials live in another table sets
    /// version_table to 0.
    static func databaseRequirement(_ settings: ConfigSettings) -> DatabaseRequirement? {
        guard settings.modules.contains(module), let url = settings.modparam(module, "db_url")?.text else { return nil }
        let versionTable = (settings.modparamInt(module, "version_table") ?? 1) != 0
        return DatabaseRequirement(module: module, url: url, tables: versionTable ? ["subscriber"] : [])
    }
}
