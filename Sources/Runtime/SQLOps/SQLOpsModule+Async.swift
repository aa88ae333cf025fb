import Database
import Script
import Shared

/// `sql_query_async`: the statement, its parameters already bound, goes to the task group
/// Kamailio's async queries use, the one of the `async_workers` core parameter
/// ("default"); an Async Task Worker runs it and drops the result.
extension SQLOpsModule {
    static let asyncFixup: @Sendable (inout FixupContext) -> Void = { fc in
        fixup(result: nil)(&fc)
        if !AsyncConfig(fc.settings).hasDefaultGroup {
            fc.error("sql_query_async runs in the async task workers: set the core parameter async_workers (> 0)")
        }
    }

    /// Binds the call's values and queues the statement. 1 when queued, -1 otherwise (logged).
    static func queue(_ ctx: inout ExecContext, _ args: CallArgs) -> Int {
        guard let template = args.payload as? SQLTemplate else { return -1 }
        let process = ctx.message.process
        let connection = args.string(0, &ctx)
        guard process.sqlops.settings.connections[connection] != nil else {
            process.log.error("sqlops", "no sqlcon named '\(connection)'")
            return -1
        }
        let task = QueuedStatement(connection: connection, sql: template.sql,
                                   parameters: template.bind(args.pieceValues(1, &ctx)))
        return AsyncModule.push(&ctx, group: AsyncConfig.defaultGroup, .sql(payload: task.encoded))
    }

    /// In an Async Task Worker: runs a queued statement; a failure is logged.
    static func runQueued(_ payload: [UInt8], _ process: ProcessContext) {
        guard let task = QueuedStatement(decoding: payload) else {
            process.log.error("sqlops", "a malformed sql_query_async task")
            return
        }
        guard let url = process.sqlops.settings.connections[task.connection],
              let db = process.databases.connection(url) else {
            process.log.error("sqlops", "sql_query_async: no sqlcon named '\(task.connection)'")
            return
        }
        if case .failure(let e) = db.query(task.sql, task.parameters) {
            process.log.error("sqlops", "sql_query_async on '\(task.connection)' failed: \(e.message) [\(task.sql.prefix(120))]")
        }
    }
}

/// A statement on its way to a task worker, in the task's payload: the connection name,
/// the SQL text and each parameter (a type byte, then its bytes), lengths as 4-byte little
/// endian numbers.
struct QueuedStatement: Equatable {
    var connection: String
    var sql: String
    var parameters: [DatabaseValue]

    init(connection: String, sql: String, parameters: [DatabaseValue]) {
        self.connection = connection
        self.sql = sql
        self.parameters = parameters
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        func bytes(_ b: [UInt8]) {
            withUnsafeBytes(of: UInt32(b.count).littleEndian) { out.append(contentsOf: $0) }
            out += b
        }
        bytes(Array(connection.utf8))
        bytes(Array(sql.utf8))
        for p in parameters {
            switch p {
            case .null: out.append(0); bytes([])
            case .int(let i): out.append(1); bytes(Array(String(i).utf8))
            case .double(let d): out.append(2); bytes(Array(String(d).utf8))
            case .text(let s): out.append(3); bytes(Array(s.utf8))
            case .blob(let b): out.append(4); bytes(b)
            }
        }
        return out
    }

    init?(decoding payload: [UInt8]) {
        var at = 0
        func bytes() -> [UInt8]? {
            guard payload.count - at >= 4 else { return nil }
            let n = payload[at..<at + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            at += 4
            guard payload.count - at >= n else { return nil }
            defer { at += n }
            return Array(payload[at..<at + n])
        }
        guard let c = bytes(), let s = bytes() else { return nil }
        connection = String(decoding: c, as: UTF8.self)
        sql = String(decoding: s, as: UTF8.self)
        parameters = []
        while at < payload.count {
            let type = payload[at]
            at += 1
            guard let b = bytes() else { return nil }
            let text = String(decoding: b, as: UTF8.self)
            switch type {
            case 0: parameters.append(.null)
            case 1: guard let i = Int64(text) else { return nil }; parameters.append(.int(i))
            case 2: guard let d = Double(text) else { return nil }; parameters.append(.double(d))
            case 3: parameters.append(.text(text))
            case 4: parameters.append(.blob(b))
            default: return nil
            }
        }
    }
}
