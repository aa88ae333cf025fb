import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// acc: accounting to the log, as Kamailio's module writes it. A transaction whose flags
/// (at relay time) include `log_flag` gets `ACC: transaction answered: ...` when its final
/// reply goes upstream (a reply of 300 or more only with `failed_transaction_flag` too); an
/// INVITE with `log_missed_flag` that ends negatively gets `ACC: call missed: ...` first.
/// `log_extra` ("name=$pv;...") is appended as the variables read for the request. With
/// `db_url`, `db_flag` and `db_missed_flag` do the same as rows (AccDatabase.swift).
enum AccModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "acc", params: [
            ModuleParamSpec("log_flag", .int), ModuleParamSpec("log_missed_flag", .int),
            ModuleParamSpec("failed_transaction_flag", .int),
            ModuleParamSpec("log_extra", .string, isFormat: true),
            ModuleParamSpec("log_level", .int, default: .int(1)) { value in
                if case .int(let l) = value, LogLevel(rawValue: l) == nil { return "log_level is a Kamailio log level, -5 to 3" }
                return nil
            },
            ModuleParamSpec("log_facility", .string),
            ModuleParamSpec("early_media", .int), ModuleParamSpec("report_ack", .int), ModuleParamSpec("report_cancels", .int),
            ModuleParamSpec("detect_direction", .int), ModuleParamSpec("time_mode", .int), ModuleParamSpec("multi_leg_info", .string),
            ModuleParamSpec("db_url", .string, validate: DatabaseModules.validateURL),
            ModuleParamSpec("db_flag", .int), ModuleParamSpec("db_missed_flag", .int),
            ModuleParamSpec("db_extra", .string, isFormat: true, validate: AccDatabase.validateExtra),
            ModuleParamSpec("db_table_acc", .string, default: .string("acc"), validate: AccDatabase.validateTable),
            ModuleParamSpec("db_table_missed_calls", .string, default: .string("missed_calls"), validate: AccDatabase.validateTable),
        ])
    }
}

/// acc's parameters, read once per process.
struct AccSettings: Sendable {
    var logFlag: Int?
    var missedFlag: Int?
    var failedFlag: Int?
    var level: LogLevel
    var extra: CompiledFormat?
    /// Records to the database (db_url set).
    var database: AccDatabase?

    init?(_ settings: ConfigSettings) {
        guard settings.modules.contains("acc") else { return nil }
        let params = settings.modparams["acc"] ?? [:]
        func int(_ name: String) -> Int? { if case .int(let i)? = params[name]?.last { return i }; return nil }
        logFlag = int("log_flag")
        missedFlag = int("log_missed_flag")
        failedFlag = int("failed_transaction_flag")
        level = LogLevel(rawValue: int("log_level") ?? 1) ?? .notice
        extra = settings.formats["acc.log_extra"]
        database = AccDatabase(settings)
    }

    static func has(_ flag: Int?, in flags: UInt64) -> Bool {
        guard let f = flag, f >= 0, f < 64 else { return false }
        return flags & (1 << UInt64(f)) != 0
    }
}

extension MessageContext {
    /// acc's lines for a transaction whose final reply just went upstream.
    func account(_ tx: borrowing LockedTransaction) {
        guard let acc = process.acc else { return }
        let flags = tx.messageFlags, code = tx.uasStatus
        let failedToo = code < 300 || AccSettings.has(acc.failedFlag, in: flags)
        let missed = tx.isInvite && code >= 300 && AccSettings.has(acc.missedFlag, in: flags)
        let answered = AccSettings.has(acc.logFlag, in: flags) && failedToo
        let logged = (missed || answered) && process.log.enabled(acc.level)
        let dbMissed = acc.database != nil && tx.isInvite && code >= 300 && AccSettings.has(acc.database?.missedFlag, in: flags)
        let dbAnswered = acc.database != nil && AccSettings.has(acc.database?.flag, in: flags) && failedToo
        guard logged || dbMissed || dbAnswered else { return }
        // A relayed reply finishes the transaction in the reply's context: read the request.
        guard let request = message.isRequest ? self : MessageContext.forTransaction(tx.transaction, process: process) else { return }
        let reply = try? SIPMessage.parse(tx.bytes(.reply))
        if logged { request.writeAccounting(acc, flags: flags, code: code, missed: missed, answered: answered, reply: reply) }
        if let db = acc.database, dbMissed || dbAnswered {
            request.insertAccounting(db, flags: flags, code: code, missed: dbMissed, answered: dbAnswered, reply: reply)
        }
        if request !== self { request.releaseTransactions() }
    }

    private func writeAccounting(_ acc: AccSettings, flags: UInt64, code: Int, missed: Bool, answered: Bool, reply: SIPMessage?) {
        var fields = "timestamp=\(time(nil));method=\(message.text(message.methodRange));from_tag=\(message.from.tag ?? "")"
        fields += ";to_tag=\(reply?.to.tag ?? "");call_id=\(message.callID);code=\(code);reason=\(reply?.reasonPhrase ?? "")"
        if let extra = acc.extra {
            var exec = process.makeExecContext()
            exec.host = self
            exec.flags = flags
            fields += ";" + process.program.format(extra, &exec)
        }
        if missed { process.log.write(acc.level, "acc", "ACC: call missed: " + fields) }
        if answered { process.log.write(acc.level, "acc", "ACC: transaction answered: " + fields) }
    }
}
