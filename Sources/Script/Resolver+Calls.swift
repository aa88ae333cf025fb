extension Resolver {
    /// Finds a function: core first, then the modules (which must be loaded).
    private mutating func lookupFunction(_ c: CallSyntax) -> FunctionSpec? {
        if let f = registry.coreFunctions[c.name] { return f }
        for (name, module) in registry.modules.sorted(by: { $0.key < $1.key }) {
            guard let f = module.functions[c.name] else { continue }
            if f.status == .available && !settings.modules.contains(name) {
                diagnostics.error("\(c.name) needs module '\(name)' (loadmodule \"\(name).so\")", at: c.location)
                return nil
            }
            return f
        }
        diagnostics.error("unknown function '\(c.name)'", at: c.location)
        return nil
    }

    /// Checks a call's name, arity, argument kinds and place, runs its fixup, and compiles it.
    mutating func compileCall(_ c: CallSyntax, inExpression: Bool) -> (spec: FunctionSpec, compiled: CompiledCall)? {
        guard let spec = lookupFunction(c) else { return nil }
        if case .notYetAvailable(let why) = spec.status {
            diagnostics.error("\(c.name) is not yet available in Respite (\(why))", at: c.location)
            return nil
        }
        if c.args.count < spec.minArgs || c.args.count > spec.args.count {
            let range = spec.minArgs == spec.args.count ? "\(spec.minArgs)" : "\(spec.minArgs) to \(spec.args.count)"
            let noun = spec.args.count == 1 && spec.minArgs == 1 ? "argument" : "arguments"
            diagnostics.error("\(c.name) takes \(range) \(noun), got \(c.args.count)", at: c.location)
            return nil
        }
        if inExpression && spec.needsFollowingActions {
            diagnostics.error("\(c.name) cannot be used inside an expression: it resumes with the next action", at: c.location)
            return nil
        }
        var exprs: [CExpr] = []
        var tables: [RouteTable?] = []
        var targets: [AssignTarget?] = []
        var lists: [Int: [AssignTarget]] = [:]
        var failed = false
        let kinds = spec.kindsByArity[c.args.count] ?? spec.args
        for (i, a) in c.args.enumerated() {
            let kind = kinds[i]
            if kind == .variable {
                if let (read, target) = resultArg(a, ordinal: "argument \(i + 1) of \(c.name)") {
                    exprs.append(read)
                    targets.append(target)
                } else {
                    failed = true
                }
                tables.append(nil)
                continue
            }
            if kind == .variableList {
                if let list = variableList(a, ordinal: "argument \(i + 1) of \(c.name)") {
                    lists[i] = list
                    exprs.append(.constant(.int(list.count)))
                } else {
                    failed = true
                }
                tables.append(nil)
                targets.append(nil)
                continue
            }
            if let e = compileArg(a, kind: kind, index: i, function: c.name) { exprs.append(e) } else { failed = true }
            if case .routeName(let t, _) = kind { tables.append(t) } else { tables.append(nil) }
            targets.append(nil)
        }
        if failed { return nil }
        callSites.append((route: currentRoute, name: c.name, allowed: spec.allowedRoutes, location: c.location))
        var payload: (any Sendable)?
        if let fixup = spec.fixup {
            let statics: [Value?] = exprs.map { if case .constant(let v) = $0 { return v } else { return nil } }
            let pieces: [[ArgPiece]] = exprs.map { e in
                switch e {
                case .constant(let v): return [.text(v.stringValue)]
                case .format(let parts): return parts.map { if case .literal(let s) = $0 { .text(s) } else { .value } }
                default: return [.value]
                }
            }
            var fc = FixupContext(functionName: c.name, location: c.location, staticArgs: statics,
                                  argLocations: c.args.map(\.location), pieces: pieces, settings: settings)
            fixup(&fc)
            diagnostics.append(contentsOf: fc.diagnostics)
            payload = fc.payload
        }
        let args = CallArgs(exprs: exprs, routeTables: tables, targets: targets, lists: lists, payload: payload, location: c.location)
        return (spec, CompiledCall(body: spec.body, args: args, name: c.name))
    }

    private mutating func compileArg(_ a: Expr, kind: ArgKind, index: Int, function: String) -> CExpr? {
        let ordinal = "argument \(index + 1) of \(function)"
        switch (kind, a) {
        case (.string, .int(let n, _)):
            return .constant(.string(String(n)))
        case (.string, .string(let s, let l)), (.any, .string(let s, let l)):
            return formattedArg(s, at: l)
        case (.int, .string(let s, let l)):
            if !s.contains("$") {
                guard let n = Value.parseInt(s) else {
                    diagnostics.error("\(ordinal) must be an integer, found \"\(s)\"", at: l)
                    return nil
                }
                return .constant(.int(n))
            }
            // "$var(d)" alone is the variable itself, so an integer stays an integer.
            return formattedArg(s, at: l)
        case (.routeName(let table, let runsAs), _):
            return routeArg(a, table: table, runsAs: runsAs, ordinal: ordinal)
        case (.rawString, .string(let s, _)):
            return .constant(.string(s))
        default:
            return compileExpr(a)
        }
    }

    /// A result argument: `"$var(x)"` or `$var(x)`, one variable that can be assigned. Gives
    /// the expression that reads it and the target that writes it.
    private mutating func resultArg(_ a: Expr, ordinal: String) -> (CExpr, AssignTarget)? {
        let syntax: VariableSyntax
        switch a {
        case .variable(let v):
            syntax = v
        case .string(let s, let l):
            // +1: the opening quote of the literal.
            var parser = VariableParser(text: s, location: l.advanced(by: 1))
            guard let v = parser.parse() else {
                diagnostics.error("\(ordinal) must be the variable to write to, found \"\(s)\"", at: l)
                return nil
            }
            syntax = v
        default:
            diagnostics.error("\(ordinal) must be the variable to write to", at: a.location)
            return nil
        }
        guard let target = assignTarget(syntax), let read = compileVariable(syntax) else { return nil }
        return (read, target)
    }

    /// A list of result variables, `"$var(a), $avp(b)"` or `"$var(a);$avp(b)"`: split at
    /// the separators outside parentheses, each one a result argument.
    private mutating func variableList(_ a: Expr, ordinal: String) -> [AssignTarget]? {
        guard case .string(let s, let l) = a else {
            diagnostics.error("\(ordinal) must be a string of variables, \"$var(a), $avp(b)\"", at: a.location)
            return nil
        }
        var items: [String] = [], current = "", depth = 0
        for c in s {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if depth == 0 && (c == "," || c == ";") {
                items.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        items.append(current)
        var list: [AssignTarget] = []
        let blank: Set<Character> = [" ", "\t", "\r", "\n"]
        for item in items.map({ String($0.drop { blank.contains($0) }.reversed().drop { blank.contains($0) }.reversed()) }) {
            guard !item.isEmpty else {
                diagnostics.error("\(ordinal): an empty name in the list of variables", at: l)
                return nil
            }
            guard let (_, target) = resultArg(.string(item, l), ordinal: ordinal) else { return nil }
            list.append(target)
        }
        return list
    }

    private mutating func formattedArg(_ s: String, at l: SourceLocation) -> CExpr? {
        guard s.contains("$") else { return .constant(.string(s)) }
        guard let parts = compileFormat(s, at: l) else { return nil }
        if parts.count == 1, case .value(let e) = parts[0] { return e }
        return .format(parts)
    }

    private mutating func routeArg(_ a: Expr, table: RouteTable, runsAs: RouteType?, ordinal: String) -> CExpr? {
        let kind: EdgeKind = runsAs.map { .runsAs($0) } ?? .inherit
        switch a {
        case .string(let s, let l) where !s.contains("$"):
            guard !s.isEmpty else {
                diagnostics.error("\(ordinal) must name a route", at: l)
                return nil
            }
            return fixedRoute(s, at: l, kind: kind, table: table).map { .constant(.int($0)) }
        case .int(let n, let l):
            return fixedRoute(String(n), at: l, kind: kind, table: table).map { .constant(.int($0)) }
        case .string(let s, let l):
            return formattedArg(s, at: l)
        default:
            return compileExpr(a)
        }
    }
}
