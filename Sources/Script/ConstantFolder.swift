/// Computes an expression made only of constants (integers, strings, operators), for
/// `#!defexp` at load time. Operators follow the interpreter's rules (`Program.binary`):
/// the left operand's type decides between adding and concatenating, comparing as integers
/// or as strings.
enum ConstantFolder {
    /// The value, or nil and why not (a variable, a call, a division by zero).
    static func value(of e: Expr) -> (Value?, String?) {
        switch e {
        case .int(let n, _): return (.int(n), nil)
        case .string(let s, _): return (.string(s), nil)
        case .null: return (.null, nil)
        case .name(let n, _): return (nil, "'\(n)' is not a constant")
        case .variable(let v): return (nil, "\(v.text) is not a constant")
        case .call(let c): return (nil, "'\(c.name)' is not a constant")
        case .unary(let op, let inner, _):
            let (v, failure) = value(of: inner)
            guard let v else { return (nil, failure) }
            return (Program.unary(op, v), nil)
        case .binary(let op, let l, let r, _):
            let (a, fa) = value(of: l)
            guard let a else { return (nil, fa) }
            let (b, fb) = value(of: r)
            guard let b else { return (nil, fb) }
            switch op {
            case .and: return (.int(a.isTrue && b.isTrue ? 1 : 0), nil)
            case .or: return (.int(a.isTrue || b.isTrue ? 1 : 0), nil)
            case .match, .noMatch:
                var message = ""
                guard let regex = CompiledRegex(b.stringValue, error: &message) else { return (nil, message) }
                return (.int(regex.matches(a.stringValue) != (op == .noMatch) ? 1 : 0), nil)
            case .div, .mod:
                guard b.arithmetic != 0 else { return (nil, "division by zero") }
                return (.int(op == .div ? a.arithmetic / b.arithmetic : a.arithmetic % b.arithmetic), nil)
            case .add:
                switch (a, b) {
                case (.int(let x), _): return (.int(x &+ b.arithmetic), nil)
                case (.string(let x), _): return (.string(x + b.stringValue), nil)
                case (.null, _): return (b, nil)
                }
            case .sub: return (.int(a.arithmetic &- b.arithmetic), nil)
            case .mul: return (.int(a.arithmetic &* b.arithmetic), nil)
            case .bitOr: return (.int(a.arithmetic | b.arithmetic), nil)
            case .bitAnd: return (.int(a.arithmetic & b.arithmetic), nil)
            case .eq: return (.int(Program.equal(a, b) ? 1 : 0), nil)
            case .ne: return (.int(Program.equal(a, b) ? 0 : 1), nil)
            case .lt, .gt, .le, .ge:
                guard let order = Program.compare(a, b) else { return (.int(0), nil) }
                let r: Bool
                switch op {
                case .lt: r = order < 0
                case .gt: r = order > 0
                case .le: r = order <= 0
                default: r = order >= 0
                }
                return (.int(r ? 1 : 0), nil)
            }
        }
    }
}
