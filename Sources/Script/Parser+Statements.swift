extension Parser {
    /// `{ statements }`; the opening brace is the current token.
    mutating func block() -> [Statement] {
        let open = advance()
        var body: [Statement] = []
        while !current.isPunct("}") {
            if atEnd {
                diagnostics.error("missing '}' for the block opened here", at: open.location)
                return body
            }
            let before = pos
            if let s = statement() { body.append(s) }
            if pos == before { advance() }
        }
        advance()
        return body
    }

    /// A single statement or a block, as taken by `if`, `else` and `while`.
    mutating func body() -> [Statement] {
        if current.isPunct("{") { return block() }
        guard let s = statement() else { return [] }
        return [s]
    }

    /// After an error inside a statement: skip past the next `;`, or stop before `}`.
    mutating func recover() {
        var depth = 0
        while !atEnd {
            if current.isPunct("{") { depth += 1 }
            if current.isPunct("}") {
                if depth == 0 { return }
                depth -= 1
                if depth == 0 { advance(); return }
            }
            if current.isPunct(";") && depth == 0 { advance(); return }
            advance()
        }
    }

    /// Skips the rest of a statement without parsing it (it is too deep, or its start is
    /// wrong): through its `;` or its block, and through each `else` that follows, in one pass.
    private mutating func skipStatement() {
        while true {
            recover()
            guard current.isIdentifier("else") else { return }
            advance()
        }
    }

    mutating func endOfStatement() {
        if current.isPunct(";") {
            advance()
        } else {
            error("expected ';' after the statement, found \(describe(current))", at: current)
            recover()
        }
    }

    /// One statement, one nesting level below the block or statement around it. Statements
    /// nest through here, so the work is done in helpers and this frame stays small in an
    /// unoptimized build (see `primary()`).
    mutating func statement() -> Statement? {
        if current.isPunct(";") {
            advance()
            return nil
        }
        guard enter(at: current) else {
            skipStatement()
            return nil
        }
        defer { leave() }
        switch statementKind() {
        case .block: return blockStatement()
        case .assignment: return assignment()
        case .ifElse: return ifStatement()
        case .whileLoop: return whileStatement()
        case .switchOn: return switchStatement()
        case .simple: return simpleStatement()
        case .returnValue: return returnStatement()
        case .expression: return expressionStatement()
        case .misplaced: return misplaced()
        }
    }

    private enum StatementKind {
        case block, assignment, ifElse, whileLoop, switchOn, simple, returnValue, expression, misplaced
    }

    private func statementKind() -> StatementKind {
        let t = current
        if t.isPunct("{") { return .block }
        if t.kind == .variable && !peek().isPunct("(") { return .assignment }
        guard t.kind == .identifier else { return .misplaced }
        switch t.text {
        case "if": return .ifElse
        case "while": return .whileLoop
        case "switch": return .switchOn
        case "exit", "drop", "break": return .simple
        case "return": return .returnValue
        case "else", "case", "default": return .misplaced
        default: return .expression
        }
    }

    private mutating func blockStatement() -> Statement? {
        let location = current.location
        return .block(block(), location)
    }

    private mutating func whileStatement() -> Statement? {
        let t = advance()
        guard let cond = condition() else { recover(); return nil }
        return .whileLoop(cond, body(), t.location)
    }

    /// `exit`, `drop`, `break`, with or without `()`.
    private mutating func simpleStatement() -> Statement? {
        let t = advance()
        if current.isPunct("(") && peek().isPunct(")") { advance(); advance() }
        endOfStatement()
        return t.text == "exit" ? .exit(t.location) : t.text == "drop" ? .drop(t.location) : .breakOut(t.location)
    }

    private mutating func returnStatement() -> Statement? {
        let t = advance()
        var value: Expr?
        if !current.isPunct(";") {
            guard let v = expression() else { recover(); return nil }
            value = v
        }
        endOfStatement()
        return .returnValue(value, t.location)
    }

    /// A call or another expression used as a statement.
    private mutating func expressionStatement() -> Statement? {
        let location = current.location
        guard let e = expression() else { recover(); return nil }
        endOfStatement()
        if case .call(let c) = e { return .call(c) }
        return .expression(e, location)
    }

    /// Something that cannot start a statement here: reported, and skipped.
    private mutating func misplaced() -> Statement? {
        let t = current
        if t.kind == .identifier {
            error("'\(t.text)' without a matching \(t.text == "else" ? "if" : "switch")", at: t)
        } else {
            error("expected a statement, found \(describe(t))", at: t)
        }
        recover()
        return nil
    }

    private mutating func assignment() -> Statement? {
        let t = advance()
        guard let v = variable(t) else { recover(); return nil }
        let opToken = current
        guard opToken.kind == .punct, let op = AssignOp(rawValue: opToken.text) else {
            error("expected '=' after \(t.text), found \(describe(opToken))", at: opToken)
            recover()
            return nil
        }
        advance()
        guard let value = expression() else { recover(); return nil }
        endOfStatement()
        return .assign(v, op, value, opToken.location)
    }

    /// `( expression )`, as `if`, `while` and `switch` take it.
    mutating func condition() -> Expr? {
        guard expect("(", "before the condition") else { return nil }
        guard let e = expression() else { return nil }
        guard expect(")", "after the condition") else { return nil }
        return e
    }

    private mutating func ifStatement() -> Statement? {
        let t = advance()
        // A bad condition: the rest of the if goes, its `else` parts with it.
        guard let cond = condition() else { skipStatement(); return nil }
        let then = body()
        var otherwise: [Statement]?
        if current.isIdentifier("else") {
            advance()
            otherwise = body()
        }
        return .ifElse(cond, then, otherwise, t.location)
    }

    private mutating func switchStatement() -> Statement? {
        let t = advance()
        guard let subject = condition() else { recover(); return nil }
        guard current.isPunct("{") else {
            error("expected '{' after switch, found \(describe(current))", at: current)
            recover()
            return nil
        }
        let open = advance()
        var cases: [SwitchCaseSyntax] = []
        while !current.isPunct("}") {
            if atEnd {
                diagnostics.error("missing '}' for the switch opened here", at: open.location)
                break
            }
            let label = current
            var value: Expr?
            if label.isIdentifier("case") {
                advance()
                guard let v = primary() else { recover(); continue }
                value = v.expr
            } else if label.isIdentifier("default") {
                advance()
            } else {
                error("expected 'case' or 'default' in switch, found \(describe(label))", at: label)
                recover()
                continue
            }
            if !expect(":", "after the case label") { recover() }
            var body: [Statement] = []
            while !current.isIdentifier("case") && !current.isIdentifier("default") && !current.isPunct("}") && !atEnd {
                let before = pos
                if let s = statement() { body.append(s) }
                if pos == before { advance() }
            }
            cases.append(SwitchCaseSyntax(value: value, body: body, location: label.location))
        }
        advance()
        return .switchOn(subject, cases, t.location)
    }
}
