/// Expression evaluation. Operator rules follow Kamailio: the left operand's type decides.
/// `+` on an integer left adds (the right side converted, 0 when it cannot be); on a string
/// left it concatenates; a null left takes the type of the right side. Comparisons compare as
/// integers when the left side is an integer, as strings otherwise.
extension Program {
    func evaluate(_ e: CExpr, _ ctx: inout ExecContext) -> Value {
        switch e {
        case .constant(let v):
            return v
        case .localVar(let slot):
            return ctx.localVariables[slot]
        case .variable(let cv):
            let name = variableName(cv, &ctx)
            return cv.spec.get(&ctx, name)
        case .transformed(let inner, let transforms):
            var v = evaluate(inner, &ctx)
            for t in transforms { v = t.apply(v) }
            return v
        case .format(let parts):
            return .string(format(parts, &ctx))
        case .call(let c):
            if ctx.pendingStop != nil { return .null }
            let rc = c.body(&ctx, c.args)
            ctx.lastReturnCode = rc
            if rc == 0 && ctx.pendingStop == nil { ctx.pendingStop = .exit }
            return .int(rc)
        case .route(let target):
            if ctx.pendingStop != nil { return .null }
            switch target {
            case .fixed(let index):
                return enterRoute(index, &ctx)
            case .dynamic(let nameExpr, let table, let location):
                let name = evaluate(nameExpr, &ctx).stringValue
                guard let index = routeIndex(name, in: table) else {
                    ctx.log(.error, "\(location): no \(table)[\(name)] in the config")
                    ctx.lastReturnCode = -1
                    return .int(-1)
                }
                return enterRoute(index, &ctx)
            }
        case .not(let inner):
            return .int(evaluate(inner, &ctx).isTrue ? 0 : 1)
        case .negate(let inner):
            return .int(0 &- evaluate(inner, &ctx).arithmetic)
        case .bitNot(let inner):
            return .int(~evaluate(inner, &ctx).arithmetic)
        case .and(let l, let r):
            guard evaluate(l, &ctx).isTrue, ctx.pendingStop == nil else { return .int(0) }
            return .int(evaluate(r, &ctx).isTrue ? 1 : 0)
        case .or(let l, let r):
            if evaluate(l, &ctx).isTrue { return .int(1) }
            if ctx.pendingStop != nil { return .int(0) }
            return .int(evaluate(r, &ctx).isTrue ? 1 : 0)
        case .binary(let op, let l, let r):
            let a = evaluate(l, &ctx)
            let b = evaluate(r, &ctx)
            return Self.binary(op, a, b, &ctx)
        case .match(let subject, let regex, let negated):
            let s = evaluate(subject, &ctx)
            if s.isNull { return .int(negated ? 1 : 0) }
            return .int(regex.matches(s.stringValue) != negated ? 1 : 0)
        case .dynamicMatch(let subject, let pattern, let negated):
            let s = evaluate(subject, &ctx)
            let p = evaluate(pattern, &ctx).stringValue
            var message = ""
            guard let regex = CompiledRegex(p, error: &message) else {
                ctx.log(.error, "bad regular expression '\(p)': \(message)")
                return .int(0)
            }
            if s.isNull { return .int(negated ? 1 : 0) }
            return .int(regex.matches(s.stringValue) != negated ? 1 : 0)
        case .unary(let op, let inner):
            return Self.unary(op, evaluate(inner, &ctx))
        case .myself(let subject, let kind, let check, let negated):
            let v = evaluate(subject, &ctx)
            let mine = !v.isNull && check(&ctx, v, kind)
            return .int(mine != negated ? 1 : 0)
        }
    }

    /// The casts and word operators. `(int)` of a string that is not a number is 0, as in
    /// Kamailio; `strempty` and `strlen` take null as the empty string.
    static func unary(_ op: UnaryOp, _ v: Value) -> Value {
        switch op {
        case .toInt: return .int(v.arithmetic)
        case .toStr: return v.isNull ? .string("") : .string(v.stringValue)
        case .defined: return .int(v.isNull ? 0 : 1)
        case .strEmpty: return .int(v.stringValue.isEmpty ? 1 : 0)
        case .strLen: return .int(v.stringValue.utf8.count)
        case .not: return .int(v.isTrue ? 0 : 1)
        case .negate: return .int(0 &- v.arithmetic)
        case .bitNot: return .int(~v.arithmetic)
        }
    }

    /// A module parameter's format (`ConfigSettings.formats`) for the message `ctx` holds.
    public func format(_ compiled: CompiledFormat, _ ctx: inout ExecContext) -> String {
        format(compiled.parts, &ctx)
    }

    func format(_ parts: [FormatPart], _ ctx: inout ExecContext) -> String {
        if parts.count == 1, case .literal(let s) = parts[0] { return s }
        var out = ""
        for p in parts {
            switch p {
            case .literal(let s): out += s
            case .value(let e): out += evaluate(e, &ctx).description
            }
        }
        return out
    }

    func variableName(_ cv: CompiledVariable, _ ctx: inout ExecContext) -> VariableName {
        if cv.dynamicName == nil && cv.dynamicIndex == nil { return cv.name }
        var name = cv.name
        if let parts = cv.dynamicName { name.name = format(parts, &ctx) }
        if let parts = cv.dynamicIndex {
            // An index that is not a number reads as no element (null), as out of range does.
            name.index = .at(Int(format(parts, &ctx)) ?? Int.min)
        }
        return name
    }

    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, _ ctx: inout ExecContext) -> Value {
        switch op {
        case .add:
            switch (a, b) {
            case (.int(let x), _): return .int(x &+ b.arithmetic)
            case (.string(let x), _): return .string(x + b.stringValue)
            case (.null, .string(let y)): return .string(y)
            case (.null, _): return .int(b.arithmetic)
            }
        case .sub: return .int(a.arithmetic &- b.arithmetic)
        case .mul: return .int(a.arithmetic &* b.arithmetic)
        case .div, .mod:
            let d = b.arithmetic
            if d == 0 {
                ctx.log(.error, "division by zero")
                return .null
            }
            return .int(op == .div ? a.arithmetic / d : a.arithmetic % d)
        case .bitOr: return .int(a.arithmetic | b.arithmetic)
        case .bitAnd: return .int(a.arithmetic & b.arithmetic)
        case .eq: return .int(equal(a, b) ? 1 : 0)
        case .ne: return .int(equal(a, b) ? 0 : 1)
        case .lt, .gt, .le, .ge:
            guard let order = compare(a, b) else { return .int(0) }
            let r: Bool
            switch op {
            case .lt: r = order < 0
            case .gt: r = order > 0
            case .le: r = order <= 0
            default: r = order >= 0
            }
            return .int(r ? 1 : 0)
        case .and, .or, .match, .noMatch:
            // Compiled to their own cases; never reached.
            return .null
        }
    }

    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.null, _), (_, .null): return false
        case (.int(let x), _): return b.intValue == x
        case (.string(let x), _): return x == b.stringValue
        }
    }

    /// -1, 0, 1, or nil when the two cannot be ordered (a null, a non-numeric right side).
    static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.null, _), (_, .null): return nil
        case (.int(let x), _):
            guard let y = b.intValue else { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.string(let x), _):
            let y = b.stringValue
            return x < y ? -1 : (x == y ? 0 : 1)
        }
    }
}
