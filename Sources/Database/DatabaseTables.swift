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
