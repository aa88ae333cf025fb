import Database
import Script

/// auth_db's one SELECT: the password (or HA1) column and the load_credentials columns of
/// the subscriber row, by username (and domain with use_domain) given as parameters.
struct SubscriberQuery {
    let settings: AuthDBSettings
    let table: String

    /// The row found: the password or HA1, and the AVPs to load.
    struct Row {
        var secret: String
        /// Whether `secret` is a plain password (calculate_ha1).
        var plain: Bool
        var loaded: [(avp: String, value: Value)]

        /// The HA1 the response is checked against.
        func ha1(_ algorithm: DigestAlgorithm, credentials c: DigestCredentials) -> String {
            plain ? DigestHash.ha1(algorithm, user: c.username, realm: c.realm, password: secret) : secret
        }
    }

    /// The password column read: the plain password with calculate_ha1; else the HA1
    /// column, `password_column_2` when the username carries a domain (`user@domain`).
    func passwordColumn(for c: DigestCredentials) -> String {
        if settings.calculateHA1 { return settings.passwordColumn }
        return c.domain.isEmpty ? settings.passwordColumn : settings.passwordColumn2
    }

    /// The statement text: only checked identifiers go into it.
    func sql(for c: DigestCredentials) -> String {
        let columns = [passwordColumn(for: c)] + settings.loadCredentials.map(\.column)
        var text = "SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE \(settings.userColumn) = ?"
        if settings.useDomain { text += " AND \(settings.domainColumn) = ?" }
        return text
    }

    /// The subscriber's row, nil when there is none.
    func fetch(_ db: DatabaseConnection, credentials c: DigestCredentials, realm: String) -> Result<Row?, DatabaseError>
    {
        var params: [DatabaseValue] = [.text(String(c.user))]
        // The domain a username carries (user@domain), else the realm (as Kamailio 5.6.3
        // looks it up).
        if settings.useDomain { params.append(.text(c.domain.isEmpty ? realm : String(c.domain))) }
        switch db.query(sql(for: c), params) {
        case .failure(let e): return .failure(e)
        case .success(let rows):
            guard let first = rows.rows.first, !first.isEmpty else { return .success(nil) }
            var loaded: [(avp: String, value: Value)] = []
            for (i, item) in settings.loadCredentials.enumerated() where i + 1 < first.count {
                switch first[i + 1] {
                case .null: continue
                case .int(let n): loaded.append((item.avp, .int(Int(n))))
                case let other: loaded.append((item.avp, .string(other.text ?? "")))
                }
            }
            return .success(Row(secret: first[0].text ?? "", plain: settings.calculateHA1, loaded: loaded))
        }
    }
}
