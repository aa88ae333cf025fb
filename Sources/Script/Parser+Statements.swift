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

    mutating func endOfStatement() {
        if current.isPunct(";") {
            advance()
        } else {
            error("expected ';' after the statement, found \(describe(current))", at: current)
            recover()
        }
    }

    mutating func statement() -> Statement? {
        let t = current
        if t.isPunct(";") { advance(); return nil }
        if t.isPunct("{") { return .block(block(), t.location) }
        if t.kind == .variable && !peek().isPunct("(") {
            return assignment()
        }
        guard t.kind == .identifier else {
            error("expected a statement, found \(describe(t))", at: t)
            recover()
            return nil
        }
        switch t.text {
        case "if": return ifStatement()
        case "while":
            advance()
            guard let cond = condition() else { recover(); return nil }
            return .whileLoop(cond, body(), t.location)
        case "switch": return switchStatement()
        case "exit", "drop", "break":
            advance()
            if current.isPunct("(") && peek().isPunct(")") { advance(); advance() }
            endOfStatement()
            return t.text == "exit" ? .exit(t.location) : t.text == "drop" ? .drop(t.location) : .breakOut(t.location)
        case "return":
            advance()
            var value: Expr?
            if !current.isPunct(";") {
                guard let v = expression() else { recover(); return nil }
                value = v
            }
            endOfStatement()
            return .returnValue(value, t.location)
        case "else", "case", "default":
            error("'\(t.text)' without a matching \(t.text == "else" ? "if" : "switch")", at: t)
            recover()
            return nil
        default:
            guard let e = expression() else { recover(); return nil }
            endOfStatement()
            if case .call(let c) = e { return .call(c) }
            return .expression(e, t.location)
        }
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
        guard let cond = condition() else { recover(); return nil }
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
                value = v
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
