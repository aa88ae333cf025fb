import Database
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// usrloc's rows in a `location` table of Kamailio 5.6's schema (version 9), read and
/// written the way Kamailio 5.6.3 does on each engine, so that one database serves both:
/// `expires` and `last_modified` are Julian day numbers (REAL) on SQLite and local-time
/// `YYYY-MM-DD HH:MM:SS` timestamps on PostgreSQL; q is a REAL (-1 when the Contact
/// gave none); empty received, path, socket and instance are NULL; without use_domain the
/// AOR is the username and domain is NULL.
///
/// A value type over the calling process's own connection (ProcessContext.databases):
/// every process (receivers, the usrloc timer, RPC handlers, the master's last flush)
/// makes its own. The table name was checked as an identifier when the config loaded.
struct LocationDatabase {
    let connection: DatabaseConnection
    let table: String
    let useDomain: Bool
    /// db_insert_update: an insert that hits an existing ruid updates that row.
    var insertUpdate = false
    /// db_update_as_insert: changes are new rows, old ones stay (a history).
    var updateAsInsert = false

    static let columns = "ruid, username, domain, contact, received, path, expires, q, callid, cseq, last_modified, "
        + "flags, cflags, user_agent, socket, methods, instance, reg_id, server_id, connection_id, keepalive, partition"

    /// Letters, digits, `_` and `.`: a table name that can go into SQL text.
    static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E
        }
    }

    // ---- reads ----

    /// The AOR's contacts, q descending then newest first (expired rows included: callers filter).
    func contacts(of aor: String) -> Result<[LocationTable.Contact], DatabaseError> {
        let (user, domain) = split(aor)
        var sql = "SELECT \(Self.columns) FROM \(table) WHERE username = ?"
        var params: [DatabaseValue] = [.text(user)]
        if useDomain {
            sql += domain == nil ? " AND domain IS NULL" : " AND domain = ?"
            if let domain { params.append(.text(domain)) }
        }
        return query(sql + " ORDER BY q DESC, last_modified DESC", params)
    }

    /// Every row (the preload of db_mode 1 and 2, the RPC dump of db_mode 3).
    func allContacts() -> Result<[LocationTable.Contact], DatabaseError> {
        query("SELECT \(Self.columns) FROM \(table) ORDER BY username, q DESC", [])
    }

    private func query(_ sql: String, _ params: [DatabaseValue]) -> Result<[LocationTable.Contact], DatabaseError> {
        connection.query(sql, params).map { rows in rows.rows.compactMap { contact(from: $0) } }
    }

    /// A row in `columns` order as a contact; nil for a row without a username or contact.
    private func contact(from r: [DatabaseValue]) -> LocationTable.Contact? {
        guard r.count == 22, let user = r[1].text, !user.isEmpty, let uri = r[3].text else { return nil }
        let domain = r[2].text ?? ""
        let aor = useDomain && !domain.isEmpty ? "\(user)@\(domain)" : user
        var c = LocationTable.Contact(aor: aor, uri: uri, expires: seconds(r[6]))
        c.ruid = r[0].text ?? ""
        c.received = r[4].text ?? ""
        c.path = r[5].text ?? ""
        let q: Double
        switch r[7] {
        case .double(let d): q = d
        case .int(let n): q = Double(n)
        case .text(let t): q = Double(t) ?? -1
        default: q = -1
        }
        c.q = q < 0 ? -1 : Int((q * 1000).rounded())
        c.callID = r[8].text ?? ""
        c.cseq = Int(r[9].int ?? 0)
        c.lastModified = seconds(r[10])
        c.flags = UInt32(truncatingIfNeeded: r[11].int ?? 0)
        c.cflags = UInt32(truncatingIfNeeded: r[12].int ?? 0)
        c.userAgent = r[13].text ?? ""
        c.socket = r[14].text ?? ""
        c.methods = r[15].int.map { UInt32(truncatingIfNeeded: $0) }
        c.instance = r[16].text ?? ""
        c.regID = Int(r[17].int ?? 0)
        return c
    }

    // ---- writes ----

    func insert(_ c: LocationTable.Contact) -> DatabaseError? {
        let marks = Array(repeating: "?", count: 22).joined(separator: ", ")
        let e = error(connection.execute("INSERT INTO \(table) (\(Self.columns)) VALUES (\(marks))", values(c)))
        if let e, e.kind == .statement, insertUpdate, case .success(true) = plainUpdate(c) { return nil }
        return e
    }

    /// Updates the row with the contact's ruid; false (no error) when there is none.
    func update(_ c: LocationTable.Contact) -> Result<Bool, DatabaseError> {
        guard updateAsInsert else { return plainUpdate(c) }
        if let e = insert(c) { return .failure(e) }
        return .success(true)
    }

    private func plainUpdate(_ c: LocationTable.Contact) -> Result<Bool, DatabaseError> {
        let v = values(c)
        let sql = "UPDATE \(table) SET contact = ?, received = ?, path = ?, expires = ?, q = ?, callid = ?, cseq = ?, "
            + "last_modified = ?, flags = ?, cflags = ?, user_agent = ?, socket = ?, methods = ?, instance = ?, reg_id = ? "
            + "WHERE ruid = ?"
        return connection.execute(sql, Array(v[3...17]) + [v[0]]).map { $0 > 0 }
    }

    /// Updates the contact's row, or inserts it when there is none (write-back flush,
    /// db_insert_update). One statement (`INSERT ... ON CONFLICT (ruid) DO UPDATE`, on
    /// Kamailio's unique ruid index) where it can; an UPDATE and then an INSERT on a table
    /// without that index, or with db_update_as_insert.
    func upsert(_ c: LocationTable.Contact) -> DatabaseError? {
        if !updateAsInsert, !c.ruid.isEmpty, case .success = connection.execute(Self.upsertSQL(table), values(c)) {
            return nil
        }
        switch update(c) {
        case .failure(let e): return e
        case .success(true): return nil
        case .success(false): return insert(c)
        }
    }

    /// The one-statement upsert: the same columns as an insert, and on a ruid that is
    /// there already the columns an update sets.
    static func upsertSQL(_ table: String) -> String {
        let marks = Array(repeating: "?", count: 22).joined(separator: ", ")
        let updated = ["contact", "received", "path", "expires", "q", "callid", "cseq", "last_modified", "flags", "cflags",
                       "user_agent", "socket", "methods", "instance", "reg_id"].map { "\($0) = excluded.\($0)" }
        return "INSERT INTO \(table) (\(columns)) VALUES (\(marks)) ON CONFLICT (ruid) DO UPDATE SET "
            + updated.joined(separator: ", ")
    }

    /// Deletes one contact: by ruid when it has one, else by AOR and address.
    func delete(_ c: LocationTable.Contact) -> Result<Int, DatabaseError> {
        if !c.ruid.isEmpty { return connection.execute("DELETE FROM \(table) WHERE ruid = ?", [.text(c.ruid)]) }
        let (sql, params) = whereAOR(c.aor)
        return connection.execute("DELETE FROM \(table)\(sql) AND contact = ?", params + [.text(c.uri)])
    }

    /// Deletes every contact of an AOR; returns how many rows.
    func delete(aor: String) -> Result<Int, DatabaseError> {
        let (sql, params) = whereAOR(aor)
        return connection.execute("DELETE FROM \(table)\(sql)", params)
    }

    /// Deletes the rows expired by `now` (permanent ones, expires at the epoch, stay).
    func deleteExpired(now: Int) -> Result<Int, DatabaseError> {
        connection.execute("DELETE FROM \(table) WHERE expires <= ? AND expires > ?", [timestamp(now), timestamp(0)])
    }

    private func whereAOR(_ aor: String) -> (String, [DatabaseValue]) {
        let (user, domain) = split(aor)
        guard useDomain else { return (" WHERE username = ?", [.text(user)]) }
        guard let domain else { return (" WHERE username = ? AND domain IS NULL", [.text(user)]) }
        return (" WHERE username = ? AND domain = ?", [.text(user), .text(domain)])
    }

    /// The values of a row in `columns` order.
    private func values(_ c: LocationTable.Contact) -> [DatabaseValue] {
        let (user, domain) = split(c.aor)
        func optional(_ s: String) -> DatabaseValue { s.isEmpty ? .null : .text(s) }
        return [
            .text(c.ruid), .text(user), domain.map(DatabaseValue.text) ?? .null, .text(c.uri),
            optional(c.received), optional(c.path), timestamp(c.expires), .double(c.q < 0 ? -1 : Double(c.q) / 1000),
            .text(c.callID), .int(Int64(c.cseq)), timestamp(c.lastModified), .int(Int64(c.flags)), .int(Int64(c.cflags)),
            .text(c.userAgent), optional(c.socket), c.methods.map { .int(Int64($0)) } ?? .null, optional(c.instance),
            .int(Int64(c.regID)), .int(0), .int(-1), .int(0), .int(0),
        ]
    }

    /// `user@domain` -> ("user", "domain") with use_domain; else (aor, nil).
    private func split(_ aor: String) -> (String, String?) {
        guard useDomain, let at = aor.lastIndex(of: "@") else { return (aor, nil) }
        return (String(aor[..<at]), String(aor[aor.index(after: at)...]))
    }

    private func error(_ r: Result<Int, DatabaseError>) -> DatabaseError? {
        if case .failure(let e) = r { return e }
        return nil
    }

    // ---- time columns ----

    /// Seconds since the epoch as this engine's `expires`/`last_modified` value.
    func timestamp(_ seconds: Int) -> DatabaseValue {
        switch connection.url.engine {
        case .sqlite: return .double(Double(seconds) / 86_400 + Self.unixEpochJulianDay)
        case .postgres: return .text(Self.localTimeText(seconds))
        }
    }

    /// A time column back as seconds since the epoch: a Julian day (REAL), a text
    /// timestamp in local time (PostgreSQL, or a schema default), or plain seconds.
    func seconds(_ v: DatabaseValue) -> Int {
        switch v {
        case .double(let d): return Int(((d - Self.unixEpochJulianDay) * 86_400).rounded())
        case .int(let n): return Int(n)
        case .text(let s): return Self.parseLocalTime(s) ?? 0
        default: return 0
        }
    }

    static let unixEpochJulianDay = 2_440_587.5

    static func localTimeText(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// "2026-12-02 00:49:30" (fractional seconds ignored) in local time -> seconds.
    static func parseLocalTime(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "T" || $0 == "." })
        guard fields.count >= 6, let year = Int32(fields[0]), let month = Int32(fields[1]), let day = Int32(fields[2]),
              let hour = Int32(fields[3]), let minute = Int32(fields[4]), let second = Int32(fields[5]) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        parts.tm_isdst = -1
        let t = mktime(&parts)
        return t == -1 ? nil : Int(t)
    }
}
