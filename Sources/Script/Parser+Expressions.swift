extension Parser {
    /// An expression and the depth of its tree (a leaf is 1): the resolver and the interpreter
    /// recurse that deep, so the parser measures it while it builds the tree.
    struct Parsed {
        var expr: Expr
        var depth: Int
    }

    /// Binary operators from loosest (level 0) to tightest, as Kamailio's grammar orders them.
    private static let levels: [[BinaryOp]] = [
        [.or], [.and], [.bitOr], [.bitAnd],
        [.eq, .ne, .match, .noMatch], [.lt, .gt, .le, .ge],
        [.add, .sub], [.mul, .div, .mod],
    ]

    private static let levelOf: [BinaryOp: Int] = {
        var table: [BinaryOp: Int] = [:]
        for (level, ops) in levels.enumerated() { for op in ops { table[op] = level } }
        return table
    }()

    mutating func expression() -> Expr? { nestedExpression()?.expr }

    /// An expression one nesting level down (a condition, an argument, a parenthesis).
    private mutating func nestedExpression() -> Parsed? {
        guard enter(at: current) else { return nil }
        defer { leave() }
        return binary(from: 0)
    }

    /// The binary operator at the current token and its level, if any.
    private func binaryOperator() -> (BinaryOp, Int)? {
        let op: BinaryOp?
        switch current.kind {
        case .punct: op = BinaryOp(rawValue: current.text)
        // Kamailio's word forms of `&&`, `||` and `%`.
        case .identifier: op = Self.wordOperators[current.text]
        default: op = nil
        }
        guard let op, let level = Self.levelOf[op] else { return nil }
        return (op, level)
    }

    private static let wordOperators: [String: BinaryOp] = ["and": .and, "or": .or, "mod": .mod]

    /// The operators written as words before their operand: `defined $x`, `strempty($x)`,
    /// `strlen($x)`.
    private static let wordPrefixOperators: [String: UnaryOp] = [
        "defined": .defined, "strempty": .strEmpty, "strlen": .strLen,
    ]

    /// The prefix operator at the current token (`!`, `-`, `~`, a word operator, a cast
    /// `(int)` / `(str)`) and how many tokens it takes; nil when there is none.
    private func prefixOperator() -> (UnaryOp, Int)? {
        let t = current
        if t.kind == .punct {
            switch t.text {
            case "!": return (.not, 1)
            case "-": return (.negate, 1)
            case "~": return (.bitNot, 1)
            case "(":
                guard peek(2).isPunct(")"), peek().kind == .identifier else { return nil }
                switch peek().text {
                case "int": return (.toInt, 3)
                case "str": return (.toStr, 3)
                default: return nil
                }
            default: return nil
            }
        }
        guard t.kind == .identifier, let op = Self.wordPrefixOperators[t.text] else { return nil }
        // `defined $x`; `strempty(...)`: an operand must follow.
        let next = peek()
        guard next.kind == .variable || next.isPunct("(") || next.kind == .string || next.kind == .integer else { return nil }
        return (op, 1)
    }

    /// Operators of level `minLevel` and tighter, left-associative (precedence climbing: one
    /// recursion per right operand, not one per level, so a parenthesis costs a few frames).
    /// A chain `1 + 1 + ...` is a loop here, but its tree deepens with every operator, so each
    /// new node is measured.
    private mutating func binary(from minLevel: Int) -> Parsed? {
        guard var left = unary() else { return nil }
        while let (op, level) = binaryOperator(), level >= minLevel {
            let opToken = advance()
            guard enter(at: opToken) else { return nil }
            let right = binary(from: level + 1)
            leave()
            guard let right else { return nil }
            left = Parsed(expr: .binary(op, left.expr, right.expr, opToken.location),
                          depth: max(left.depth, right.depth) + 1)
            guard fits(left.depth, at: opToken) else { return nil }
        }
        return left
    }

    private mutating func unary() -> Parsed? {
        let t = current
        if let (op, length) = prefixOperator() {
            for _ in 0..<length { advance() }
            guard enter(at: t) else { return nil }
            let parsed = unary()
            leave()
            guard let operand = parsed else { return nil }
            if op == .negate, case .int(let v, _) = operand.expr {
                return Parsed(expr: .int(0 &- v, t.location), depth: operand.depth)
            }
            guard fits(operand.depth + 1, at: t) else { return nil }
            return Parsed(expr: .unary(op, operand.expr, t.location), depth: operand.depth + 1)
        }
        return primary()
    }

    // The functions on the recursion path (nestedExpression, binary, unary, primary,
    // parenthesized, call) keep their frames small: leaves and error messages are built in
    // helpers, because an unoptimized build gives every temporary of a function its own
    // stack slot, and the deepest file the parser accepts goes 256 levels down this path.

    mutating func primary() -> Parsed? {
        switch primaryKind() {
        case .leaf: return leaf()
        case .parenthesis: return parenthesized()
        case .call: return call()
        case .select: return select()
        case .none:
            unexpected()
            return nil
        }
    }

    private enum PrimaryKind { case leaf, parenthesis, call, select, none }

    private func primaryKind() -> PrimaryKind {
        let t = current
        switch t.kind {
        case .integer, .string, .variable: return .leaf
        case .punct where t.text == "-" && peek().kind == .integer: return .leaf
        case .punct where t.text == "(": return .parenthesis
        case .punct where t.text == "@": return .select
        case .identifier: return .call
        default: return .none
        }
    }

    private mutating func unexpected() {
        error("expected an expression, found \(describe(current))", at: current)
    }

    /// An integer (with its sign), a string or a variable.
    private mutating func leaf() -> Parsed? {
        let t = advance()
        switch t.kind {
        case .integer:
            return Parsed(expr: .int(t.intValue, t.location), depth: 1)
        case .string:
            return Parsed(expr: .string(t.text, t.location), depth: 1)
        case .variable:
            guard let v = variable(t) else { return nil }
            if v.className == "null" && v.inner == nil && v.transforms.isEmpty {
                return Parsed(expr: .null(t.location), depth: 1)
            }
            return Parsed(expr: .variable(v), depth: 1)
        default:  // "-" before an integer
            return Parsed(expr: .int(0 &- advance().intValue, t.location), depth: 1)
        }
    }

    private mutating func parenthesized() -> Parsed? {
        advance()
        guard let e = nestedExpression() else { return nil }
        guard expect(")", "to close the parenthesis") else { return nil }
        return e
    }

    /// `name`, `name()`, `name(arg, ...)`; `route(NAME)` takes a bare word.
    private mutating func call() -> Parsed? {
        var name = advance()
        // `msg:len`, the core keyword for the message's length, is one word.
        if name.text == "msg", current.isPunct(":"), !current.spaceBefore, peek().isIdentifier("len"), !peek().spaceBefore {
            advance()
            advance()
            name.text = "msg:len"
        }
        var args: [Expr] = []
        var depth = 1
        if current.isPunct("(") {
            advance()
            while !current.isPunct(")") {
                if let word = bareRouteName(after: name, args: args) {
                    args.append(word)
                } else {
                    guard let a = nestedExpression() else { return nil }
                    args.append(a.expr)
                    depth = max(depth, a.depth + 1)
                }
                guard argumentSeparator(after: name) else { return nil }
            }
            advance()
        }
        guard fits(depth, at: name) else { return nil }
        return Parsed(expr: .call(CallSyntax(name: name.text, args: args, location: name.location)), depth: depth)
    }

    /// A select, `@cfg_get.group.name` or `@via[1].host`: one call named by the whole path
    /// (`@cfg_get.group.name`), which the resolver looks up.
    private mutating func select() -> Parsed? {
        let at = advance()
        guard current.kind == .identifier, !current.spaceBefore else {
            error("expected a select name after '@', found \(describe(current))", at: current)
            return nil
        }
        var path = "@" + advance().text
        while !current.spaceBefore {
            if current.isPunct("."), peek().kind == .identifier, !peek().spaceBefore {
                advance()
                path += "." + advance().text
            } else if current.isPunct("["), peek().kind == .integer, peek(2).isPunct("]") {
                advance()
                path += "[\(advance().intValue)]"
                advance()
            } else {
                break
            }
        }
        return Parsed(expr: .call(CallSyntax(name: path, args: [], location: at.location)), depth: 1)
    }

    /// The bare word of `route(NAME)`, consumed; nil for anything else.
    private mutating func bareRouteName(after name: Token, args: [Expr]) -> Expr? {
        guard name.text == "route" && args.isEmpty && current.kind == .identifier
            && (peek().isPunct(")") || peek().isPunct(",")) else { return nil }
        let w = advance()
        return .name(w.text, w.location)
    }

    /// Consumes a `,` between arguments; true before the closing `)`, false (reported) else.
    private mutating func argumentSeparator(after name: Token) -> Bool {
        if current.isPunct(",") {
            advance()
            return true
        }
        if current.isPunct(")") { return true }
        error("expected ',' or ')' in the arguments of \(name.text), found \(describe(current))", at: current)
        return false
    }

    /// Parses a variable token's text, reporting a malformed one.
    mutating func variable(_ t: Token) -> VariableSyntax? {
        var p = VariableParser(text: t.text, location: t.location)
        if let v = p.parse() { return v }
        diagnostics.error(p.failure ?? "malformed variable '\(t.text)'", at: t.location)
        return nil
    }
}
