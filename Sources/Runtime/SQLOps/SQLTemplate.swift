import Database
import Script

/// An sqlops query, compiled once when the config loads: the SQL text with a `?` for each
/// value, and how to make each value from the variables of one call. Script values never
/// become SQL text:
/// - a variable outside quotes is one parameter: an integer when it holds one, else text;
/// - a quoted literal (`'...'`) holding variables is one text parameter, the literal's
///   text with the variables' values put in (`''` inside it stands for one quote);
/// - a quoted literal without variables, and everything else, stays as written.
/// A variable inside a quoted identifier (`"..."`, `` `...` ``) or a comment, a `?` written
/// in the text, an unclosed quote or comment, and a query that is nothing but a variable
/// are load-time errors. Immutable; built by the fixups, read by every process.
struct SQLTemplate: Sendable, Equatable {
    /// One part of a literal parameter: text, or the value of the call's variable `n`.
    enum Segment: Sendable, Equatable {
        case text(String)
        case value(Int)
    }

    /// How one `?` gets its value.
    enum Parameter: Sendable, Equatable {
        /// The variable `n` alone.
        case value(Int)
        /// A quoted literal with variables in it.
        case literal([Segment])
    }

    /// The statement, `?` for each parameter.
    let sql: String
    let parameters: [Parameter]

    private enum State { case plain, literal, identifier(Unicode.Scalar), lineComment, blockComment }

    /// Compiles the query argument's pieces (`FixupContext.pieces`); the error says why not.
    static func compile(_ pieces: [ArgPiece]) -> Result<SQLTemplate, SQLOpsError> {
        guard pieces.contains(where: { if case .text(let t) = $0 { !t.isEmpty } else { false } }) else {
            return .failure(SQLOpsError("the query must be SQL text written in the config (variables inside it are bound as parameters): a variable cannot hold the whole statement"))
        }
        var sql = String.UnicodeScalarView()
        var parameters: [Parameter] = []
        var state = State.plain
        var variable = 0
        // The literal being read: its text as written (kept when it has no variables) and
        // its segments with quotes unescaped.
        var written = String.UnicodeScalarView(), segments: [Segment] = [], current = String.UnicodeScalarView()
        var hasVariable = false
        for piece in pieces {
            guard case .text(let text) = piece else {
                switch state {
                case .plain:
                    sql.append("?")
                    parameters.append(.value(variable))
                case .literal:
                    segments.append(.text(String(current)))
                    segments.append(.value(variable))
                    current = String.UnicodeScalarView()
                    hasVariable = true
                case .identifier:
                    return .failure(SQLOpsError("a variable inside a quoted identifier: names of tables and columns cannot be parameters"))
                case .lineComment, .blockComment:
                    return .failure(SQLOpsError("a variable inside an SQL comment"))
                }
                variable += 1
                continue
            }
            let scalars = Array(text.unicodeScalars)
            var i = 0
            while i < scalars.count {
                let c = scalars[i], next: Unicode.Scalar? = i + 1 < scalars.count ? scalars[i + 1] : nil
                i += 1
                switch state {
                case .plain:
                    switch c {
                    case "'":
                        state = .literal
                        written = String.UnicodeScalarView(["'"])
                        segments = []
                        current = String.UnicodeScalarView()
                        hasVariable = false
                        continue
                    case "\"", "`": state = .identifier(c)
                    case "-" where next == "-": state = .lineComment
                    case "/" where next == "*":
                        state = .blockComment
                        sql.append(c)
                        sql.append("*")
                        i += 1
                        continue
                    case "?":
                        return .failure(SQLOpsError("a '?' in the query text: write values as variables or quoted literals"))
                    default: break
                    }
                    sql.append(c)
                case .literal:
                    written.append(c)
                    guard c == "'" else {
                        current.append(c)
                        continue
                    }
                    if next == "'" {
                        written.append("'")
                        current.append("'")
                        i += 1
                        continue
                    }
                    state = .plain
                    if hasVariable {
                        segments.append(.text(String(current)))
                        sql.append("?")
                        parameters.append(.literal(segments.filter { $0 != .text("") }))
                    } else {
                        sql.append(contentsOf: written)
                    }
                case .identifier(let close):
                    sql.append(c)
                    if c == close { state = .plain }
                case .lineComment:
                    sql.append(c)
                    if c == "\n" { state = .plain }
                case .blockComment:
                    sql.append(c)
                    if c == "*" && next == "/" {
                        sql.append("/")
                        i += 1
                        state = .plain
                    }
                }
            }
        }
        switch state {
        case .literal: return .failure(SQLOpsError("a quoted literal is not closed (a quote inside one is written '')"))
        case .identifier: return .failure(SQLOpsError("a quoted identifier is not closed"))
        case .blockComment: return .failure(SQLOpsError("a /* comment is not closed"))
        case .plain, .lineComment: return .success(SQLTemplate(sql: String(sql), parameters: parameters))
        }
    }

    /// The statement's parameters for one call, from the values of its variables
    /// (`CallArgs.pieceValues`), in order.
    func bind(_ values: [Value]) -> [DatabaseValue] {
        func value(_ n: Int) -> Value { n < values.count ? values[n] : .null }
        return parameters.map { p in
            switch p {
            case .value(let n):
                if case .int(let i) = value(n) { return .int(Int64(i)) }
                return .text(value(n).description)
            case .literal(let segments):
                var text = ""
                for s in segments {
                    switch s {
                    case .text(let t): text += t
                    case .value(let n): text += value(n).description
                    }
                }
                return .text(text)
            }
        }
    }
}

/// A load-time or run-time error of sqlops, in words for the log.
struct SQLOpsError: Error, Sendable, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
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
