import Database
import SIP
import Script
#if canImport(Glibc)
import Glibc
#endif

/// acc's records in a database, as Kamailio 5.6's acc writes them: a transaction whose
/// flags include `db_flag` gets a row in `db_table_acc` ("acc") when its final reply goes
/// upstream (300 and up only with `failed_transaction_flag` too); an INVITE with
/// `db_missed_flag` that ends negatively gets a row in `db_table_missed_calls`
/// ("missed_calls"). Columns: method, from_tag, to_tag, callid, sip_code, sip_reason, time,
/// then one column per `db_extra` field (a null variable as Kamailio's driver writes it). The row is
/// written by the process that sends the final reply, on its own connection
/// (`ProcessContext.databases`); a failed insert is an error line, never a stalled reply
/// beyond the query timeout. Read-only settings, built once per process.
struct AccDatabase: Sendable {
    let url: String
    let flag: Int?
    let missedFlag: Int?
    let accTable: String
    let missedTable: String
    let extra: [(name: String, value: CompiledFormat)]

    init?(_ settings: ConfigSettings) {
        guard case .string(let url)? = settings.modparam("acc", "db_url") else { return nil }
        self.url = url
        flag = settings.modparamInt("acc", "db_flag")
        missedFlag = settings.modparamInt("acc", "db_missed_flag")
        accTable = settings.modparam("acc", "db_table_acc")?.text ?? "acc"
        missedTable = settings.modparam("acc", "db_table_missed_calls")?.text ?? "missed_calls"
        // Compiled when the config loaded; validateExtra made sure the fields split.
        extra = settings.formats["acc.db_extra"]?.fields() ?? []
    }

    /// The statement for `table`: the fixed columns, the extra ones, a parameter each.
    func insertSQL(_ table: String) -> String {
        let columns = Self.fixedColumns + extra.map(\.name)
        return "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
    }

    static let fixedColumns = ["method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason", "time"]

    /// The tables the start-up check looks at (missed_calls only when missed calls are kept).
    static func requirements(_ settings: ConfigSettings) -> [DatabaseRequirement] {
        guard settings.modules.contains("acc"), let db = AccDatabase(settings) else { return [] }
        return [DatabaseRequirement(module: "acc", url: db.url, tables: [db.accTable] + (db.missedFlag != nil ? [db.missedTable] : []))]
    }

    /// `db_table_acc`, `db_table_missed_calls`: a table name (letters, digits, `_`, `.`).
    @Sendable static func validateTable(_ value: ConfigValue) -> String? {
        isIdentifier(value.text) ? nil : "'\(value.text)' is not a table name (letters, digits, _ and .)"
    }

    /// `db_extra`: `column=value;...`, each column a name (it goes into SQL text).
    @Sendable static func validateExtra(_ value: ConfigValue) -> String? {
        for field in value.text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let eq = field.firstIndex(of: "=") else { return "db_extra field '\(field)' has no '=' (column=$var;...)" }
            var column = field[..<eq]
            while column.first == " " || column.first == "\t" { column.removeFirst() }
            while column.last == " " || column.last == "\t" { column.removeLast() }
            if !isIdentifier(column) { return "db_extra column '\(column)' is not a column name (letters, digits, _)" }
        }
        return nil
    }

    static func isIdentifier(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2e
        }
    }
}

extension MessageContext {
    /// acc's rows for the request this context holds, its final reply `reply` (`code`).
    func insertAccounting(_ db: AccDatabase, flags: UInt64, code: Int, missed: Bool, answered: Bool, reply: SIPMessage?) {
        guard let connection = process.databases.connection(db.url) else { return }
        var values: [DatabaseValue] = [
            .text(message.text(message.methodRange)), .text(message.from.tag ?? ""), .text(reply?.to.tag ?? ""),
            .text(message.callID), .text(String(code)), .text(reply?.reasonPhrase ?? ""),
            DatabaseTime.value(Int(time(nil)), engine: connection.url.engine),
        ]
        if !db.extra.isEmpty {
            var exec = process.makeExecContext()
            exec.host = self
            exec.flags = flags
            // A null variable: Kamailio's acc passes an empty string without text, which
            // db_sqlite binds as NULL and db_postgres writes as ''. The same here.
            let null: DatabaseValue = connection.url.engine == .sqlite ? .null : .text("")
            for field in db.extra {
                values.append(process.program.formatOrNull(field.value, &exec).map(DatabaseValue.text) ?? null)
            }
        }
        for (table, wanted) in [(db.missedTable, missed), (db.accTable, answered)] where wanted {
            if case .failure(let e) = connection.execute(db.insertSQL(table), values) {
                process.log.error("acc", "cannot add the record to '\(table)': \(e.message)")
            }
        }
    }
}
