import Database
import Script
import Shared

/// sqlops: SQL statements from the script on named connections (docs/modules/sqlops.md).
/// The query argument is compiled once into an `SQLTemplate`; each call binds the values of
/// its variables as statement parameters.
enum SQLOpsModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "sqlops", params: SQLOpsSettings.params, functions: [
            FunctionSpec("sql_query", args: [.string, .string, .string], minArgs: 2, fixup: fixup(result: 2)) { ctx, args in
                let result = args.count > 2 ? args.string(2, &ctx) : nil
                guard let (rows, process) = run(&ctx, args) else {
                    // A failed statement leaves the result empty, as in Kamailio.
                    if let result { ctx.message.process.sqlops.free(result) }
                    return -1
                }
                if let result, !process.sqlops.store(rows, as: result, log: process.log) { return -1 }
                if rows.rows.isEmpty || rows.columns.isEmpty { return 2 }
                return result == nil ? 3 : 1
            },
            FunctionSpec("sql_xquery", args: [.string, .string, .string], fixup: fixup(result: nil)) { ctx, args in
                guard let (rows, _) = run(&ctx, args) else { return -1 }
                let name = args.string(2, &ctx)
                guard !rows.rows.isEmpty, !rows.columns.isEmpty else { return 2 }
                // One record per row, the first row at index 0; fields newest first, as
                // assignments add them, so that the first column is the last field.
                let added = rows.rows.map { row in
                    zip(rows.columns, row).reversed().map { ScriptEdits.Field(name: $0.0, value: SQLResult.scriptValue($0.1)) }
                }
                let m = ctx.message
                m.edits.xavps[name] = added + (m.edits.xavps[name] ?? [])
                return 1
            },
            FunctionSpec("sql_pvquery", args: [.string, .string, .variableList], fixup: fixup(result: nil)) { ctx, args in
                guard let (rows, process) = run(&ctx, args) else { return -1 }
                let count = args.variableCount(2)
                guard rows.columns.count <= count else {
                    process.log.error("sqlops", "sql_pvquery: the query gives \(rows.columns.count) columns for \(count) variables")
                    return -1
                }
                guard !rows.rows.isEmpty, !rows.columns.isEmpty else { return 2 }
                // Last row first, so that a plain variable ends with the first row's value and
                // an avp list holds the rows in order.
                for row in rows.rows.reversed() {
                    for (i, cell) in row.enumerated() {
                        let value = SQLResult.scriptValue(cell)
                        if value.isNull, ["avp", "xavp"].contains(args.variableClass(2, element: i)) { continue }
                        args.assign(2, element: i, value, &ctx)
                    }
                }
                return 1
            },
            FunctionSpec("sql_result_free", args: [.string], fixup: checkResultName(0)) { ctx, args in
                ctx.message.process.sqlops.free(args.string(0, &ctx))
                return 1
            },
            FunctionSpec("sql_query_async", args: [.string, .string], fixup: asyncFixup) { ctx, args in
                queue(&ctx, args)
            },
        ], variables: [
            VariableClassSpec("dbr", nameRule: .required, validateName: { name in
                if case .failure(let e) = SQLResultKey.parse(name) { return e.message }
                return nil
            }) { ctx, name in
                let process = ctx.message.process
                switch SQLResultKey.parse(name.name ?? "") {
                case .failure(let e):
                    process.log.error("sqlops", "$dbr: \(e.message)")
                    return .null
                case .success(let (result, key)):
                    return process.sqlops.value(result, key)
                }
            },
            VariableClassSpec("sqlrows", nameRule: .required, validateName: { name in
                SQLResultKey.validName(name) ? nil : "'\(name)' is not a connection name"
            }) { ctx, name in
                ctx.message.process.sqlops.changes(name.name ?? "")
            },
        ], checkParams: SQLOpsSettings.checkParams)
    }

    /// The connection (argument 0) and the query (argument 1) of a call, run. Nil when the
    /// call fails (logged).
    static func run(_ ctx: inout ExecContext, _ args: CallArgs) -> (DatabaseRows, ProcessContext)? {
        guard let template = args.payload as? SQLTemplate else { return nil }
        let process = ctx.message.process
        let connection = args.string(0, &ctx)
        let values = args.pieceValues(1, &ctx)
        guard let rows = process.sqlops.run(connection, template, values, process: process) else { return nil }
        return (rows, process)
    }

    /// Checks a static connection name, compiles the query into the payload and, when
    /// `result` is set, checks a static result name there.
    static func fixup(result: Int?) -> @Sendable (inout FixupContext) -> Void {
        { fc in
            let settings = fc.settings.derived["sqlops"] as? SQLOpsSettings ?? SQLOpsSettings(fc.settings)
            if let con = fc.staticString(0), settings.connections[con] == nil {
                fc.error("no sqlcon named '\(con)' (define it with modparam(\"sqlops\", \"sqlcon\", \"\(con)=>url\"))", argument: 0)
            }
            switch SQLTemplate.compile(fc.pieces(1)) {
            case .failure(let e): fc.error(e.message, argument: 1)
            case .success(let t): fc.payload = t
            }
            if let result { checkResultName(result)(&fc) }
        }
    }

    static func checkResultName(_ i: Int) -> @Sendable (inout FixupContext) -> Void {
        { fc in
            guard i < fc.argumentCount, let name = fc.staticString(i) else { return }
            if !SQLResultKey.validName(name) { fc.error("'\(name)' is not a result name (letters, digits, _ and -)", argument: i) }
        }
    }

    // MARK: sql_query_async: the statement, its parameters already bound, goes to the task
    // group Kamailio's asynchronous queries use, the first one (`async_workers`, "default");
    // an Async Task Worker runs it and drops the result.

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
