extension Parser {
    /// Binary operators from loosest to tightest, as Kamailio's grammar orders them.
    private static let levels: [[BinaryOp]] = [
        [.or], [.and], [.bitOr], [.bitAnd],
        [.eq, .ne, .match, .noMatch], [.lt, .gt, .le, .ge],
        [.add, .sub], [.mul, .div, .mod],
    ]

    mutating func expression() -> Expr? { binary(level: 0) }

    private mutating func binary(level: Int) -> Expr? {
        if level == Self.levels.count { return unary() }
        guard var left = binary(level: level + 1) else { return nil }
        while current.kind == .punct, let op = BinaryOp(rawValue: current.text),
              Self.levels[level].contains(op) {
            let opToken = advance()
            guard let right = binary(level: level + 1) else { return nil }
            left = .binary(op, left, right, opToken.location)
        }
        return left
    }

    private mutating func unary() -> Expr? {
        let t = current
        if t.isPunct("!") || t.isPunct("-") || t.isPunct("~") {
            advance()
            guard let operand = unary() else { return nil }
            if t.text == "-", case .int(let v, _) = operand { return .int(-v, t.location) }
            let op: UnaryOp = t.text == "!" ? .not : t.text == "-" ? .negate : .bitNot
            return .unary(op, operand, t.location)
        }
        return primary()
    }

    mutating func primary() -> Expr? {
        let t = current
        switch t.kind {
        case .integer:
            advance()
            return .int(t.intValue, t.location)
        case .string:
            advance()
            return .string(t.text, t.location)
        case .variable:
            advance()
            guard let v = variable(t) else { return nil }
            if v.className == "null" && v.inner == nil && v.transforms.isEmpty { return .null(t.location) }
            return .variable(v)
        case .punct where t.text == "-" && peek().kind == .integer:
            advance()
            return .int(-advance().intValue, t.location)
        case .punct where t.text == "(":
            advance()
            guard let e = expression() else { return nil }
            guard expect(")", "to close the parenthesis") else { return nil }
            return e
        case .identifier:
            return call()
        default:
            error("expected an expression, found \(describe(t))", at: t)
            return nil
        }
    }

    /// `name`, `name()`, `name(arg, ...)`; `route(NAME)` takes a bare word.
    private mutating func call() -> Expr? {
        let name = advance()
        var args: [Expr] = []
        if current.isPunct("(") {
            advance()
            while !current.isPunct(")") {
                if name.text == "route" && args.isEmpty && current.kind == .identifier && (peek().isPunct(")") || peek().isPunct(",")) {
                    let w = advance()
                    args.append(.name(w.text, w.location))
                } else {
                    guard let a = expression() else { return nil }
                    args.append(a)
                }
                if current.isPunct(",") {
                    advance()
                } else if !current.isPunct(")") {
                    error("expected ',' or ')' in the arguments of \(name.text), found \(describe(current))", at: current)
                    return nil
                }
            }
            advance()
        }
        return .call(CallSyntax(name: name.text, args: args, location: name.location))
    }

    /// Parses a variable token's text, reporting a malformed one.
    mutating func variable(_ t: Token) -> VariableSyntax? {
        var p = VariableParser(text: t.text, location: t.location)
        if let v = p.parse() { return v }
        diagnostics.error(p.failure ?? "malformed variable '\(t.text)'", at: t.location)
        return nil
    }
}
