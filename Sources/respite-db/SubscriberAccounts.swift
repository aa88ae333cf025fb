import Database
import Script

/// The `subscriber` table as kamctl's `add`, `rm` and `show` keep it: the password in
/// clear in `password`, and the two digests auth_db reads, ha1 = MD5(user:domain:password)
/// and ha1b = MD5(user@domain:domain:password).
struct SubscriberAccounts {
    let db: DatabaseConnection

    /// `user@domain` split at its first `@`; nil when either side is empty.
    static func account(_ text: String) -> (user: String, domain: String)? {
        guard let at = text.firstIndex(of: "@") else { return nil }
        let user = String(text[..<at]), domain = String(text[text.index(after: at)...])
        guard !user.isEmpty, !domain.isEmpty else { return nil }
        return (user, domain)
    }

    static func ha1(user: String, domain: String, password: String) -> String {
        MD5.hex(Array("\(user):\(domain):\(password)".utf8))
    }

    static func ha1b(user: String, domain: String, password: String) -> String {
        MD5.hex(Array("\(user)@\(domain):\(domain):\(password)".utf8))
    }

    enum Failure: Error, CustomStringConvertible {
        case exists(String)
        case absent(String)
        case database(DatabaseError)

        var description: String {
            switch self {
            case .exists(let who): return "\(who) is already a subscriber (remove-user first to change the password)"
            case .absent(let who): return "\(who) is not a subscriber"
            case .database(let e): return e.message
            }
        }
    }

    func add(user: String, domain: String, password: String) -> Result<Void, Failure> {
        switch exists(user: user, domain: domain) {
        case .failure(let e): return .failure(.database(e))
        case .success(true): return .failure(.exists("\(user)@\(domain)"))
        case .success(false): break
        }
        let sql = "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)"
        let values: [DatabaseValue] = [
            .text(user), .text(domain), .text(password),
            .text(Self.ha1(user: user, domain: domain, password: password)),
            .text(Self.ha1b(user: user, domain: domain, password: password)),
        ]
        return db.execute(sql, values).map { _ in () }.mapError { .database($0) }
    }

    func remove(user: String, domain: String) -> Result<Void, Failure> {
        switch db.execute("DELETE FROM subscriber WHERE username = ? AND domain = ?", [.text(user), .text(domain)]) {
        case .failure(let e): return .failure(.database(e))
        case .success(0): return .failure(.absent("\(user)@\(domain)"))
        case .success: return .success(())
        }
    }

    /// Every subscriber as `user@domain`, sorted.
    func list() -> Result<[String], Failure> {
        db.query("SELECT username, domain FROM subscriber ORDER BY domain, username")
            .map { rows in rows.rows.map { "\($0[0].text ?? "")@\($0[1].text ?? "")" } }
            .mapError { .database($0) }
    }

    private func exists(user: String, domain: String) -> Result<Bool, DatabaseError> {
        db.query("SELECT username FROM subscriber WHERE username = ? AND domain = ?", [.text(user), .text(domain)])
            .map { !$0.rows.isEmpty }
    }
}
