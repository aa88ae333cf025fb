extension Resolver {
    mutating func compileExpr(_ e: Expr) -> CExpr? {
        enter()
        defer { leave() }
        switch e {
        case .int(let n, _): return .constant(.int(n))
        case .string(let s, _), .name(let s, _): return .constant(.string(s))
        case .null: return .constant(.null)
        case .variable(let v): return compileVariable(v)
        case .call(let c):
            if c.name == "route" { return routeTarget(c).map { .route($0) } }
            if c.name.hasPrefix("@") { return compileSelect(String(c.name.dropFirst()), at: c.location) }
            if c.args.isEmpty, let keyword = registry.keywords[c.name] {
                return .variable(CompiledVariable(spec: keyword, name: VariableName(name: nil, index: nil),
                                                  dynamicName: nil, text: c.name))
            }
            if c.args.isEmpty, let constant = registry.keywordConstants[c.name] { return .constant(constant) }
            guard let call = compileCall(c, inExpression: true) else { return nil }
            return .call(call.compiled)
        case .unary(let op, let inner, _):
            guard let x = compileExpr(inner) else { return nil }
            switch op {
            case .not: return .not(x)
            case .negate: return .negate(x)
            case .bitNot: return .bitNot(x)
            default: return .unary(op, x)
            }
        case .binary(let op, let l, let r, let location) where isMyself(l) || isMyself(r):
            return compileMyself(op, isMyself(r) ? l : r, at: location)
        case .binary(let op, let l, let r, _):
            let a = compileExpr(l)
            let b = compileExpr(r)
            guard let a, let b else { return nil }
            switch op {
            case .and: return .and(a, b)
            case .or: return .or(a, b)
            case .match, .noMatch:
                guard case .constant(let p) = b, !p.isNull else {
                    return .dynamicMatch(a, b, negated: op == .noMatch)
                }
                var message = ""
                guard let regex = CompiledRegex(p.stringValue, error: &message) else {
                    diagnostics.error("bad regular expression '\(p.stringValue)': \(message)", at: r.location)
                    return nil
                }
                return .match(a, regex, negated: op == .noMatch)
            default:
                return .binary(op, a, b)
            }
        }
    }

    /// A select (`cfg_get.group.name`, without the `@`): the custom parameters are known at
    /// load time, so the select is their value.
    mutating func compileSelect(_ path: String, at location: SourceLocation) -> CExpr? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        if parts.first == "cfg_get" {
            let name = parts.dropFirst().joined(separator: ".")
            guard parts.count == 3, let value = settings.custom[name] else {
                diagnostics.error("@\(path): no custom parameter '\(name)' (define it as \(name) = value)", at: location)
                return nil
            }
            switch value {
            case .int(let n): return .constant(.int(n))
            case .string(let s): return .constant(.string(s))
            }
        }
        // `via[2].host`: the key `via.host` and the index 2 (one index at most).
        var names: [String] = []
        var index: Int?
        for part in parts {
            if let open = part.firstIndex(of: "["), part.hasSuffix("]"),
               let n = Int(part[part.index(after: open)..<part.index(before: part.endIndex)]), index == nil {
                names.append(String(part[..<open]))
                index = n
            } else {
                names.append(String(part))
            }
        }
        guard let spec = registry.selects[names.joined(separator: ".")] else {
            let known = (["cfg_get.GROUP.NAME"] + registry.selects.keys.sorted()).joined(separator: ", ")
            diagnostics.error("select @\(path) is not available in Respite (known: \(known))", at: location)
            return nil
        }
        return .variable(CompiledVariable(spec: spec, name: VariableName(name: nil, index: index.map { .at($0) }),
                                          dynamicName: nil, text: "@" + path))
    }

    private func isMyself(_ e: Expr) -> Bool {
        if case .call(let c) = e, c.name == "myself", c.args.isEmpty { return true }
        return false
    }

    /// `subject == myself`, `subject != myself` (either side): only the keywords the runtime
    /// registered as `myself` subjects, and only those two operators, as Kamailio accepts.
    private mutating func compileMyself(_ op: BinaryOp, _ subject: Expr, at location: SourceLocation) -> CExpr? {
        guard let check = registry.myself else {
            diagnostics.error("'myself' is not available here", at: location)
            return nil
        }
        guard op == .eq || op == .ne else {
            diagnostics.error("'myself' compares only with == or !=", at: location)
            return nil
        }
        guard case .call(let c) = subject, c.args.isEmpty, let kind = registry.myselfSubjects[c.name],
              let x = compileExpr(subject) else {
            let names = registry.myselfSubjects.keys.sorted().joined(separator: ", ")
            diagnostics.error("'myself' compares only with \(names)", at: location)
            return nil
        }
        return .myself(x, kind, check, negated: op == .ne)
    }

    /// A variable read: `$var` slots, `$null`, or a registered class, then transformations.
    mutating func compileVariable(_ v: VariableSyntax) -> CExpr? {
        var base: CExpr
        if v.className == "sel", let inner = v.inner, !inner.contains("$") {
            // `$sel(cfg_get.group.name)`: the select, as `@cfg_get.group.name`.
            guard let select = compileSelect(inner, at: v.location) else { return nil }
            base = select
        } else if v.className == "var" {
            guard let slot = localSlot(v) else { return nil }
            base = .localVar(slot)
        } else if v.className == "null" && v.inner == nil {
            base = .constant(.null)
        } else {
            guard let cv = registeredVariable(v) else { return nil }
            base = .variable(cv)
        }
        guard !v.transforms.isEmpty else { return base }
        var transforms: [Transformation] = []
        for t in v.transforms {
            let (made, message) = Transformation.make(t)
            if let made { transforms.append(made) } else {
                diagnostics.error(message ?? "bad transformation", at: t.location)
                return nil
            }
        }
        return .transformed(base, transforms)
    }

    /// Finds the class of `$name` and checks its inner name.
    mutating func registeredVariable(_ v: VariableSyntax) -> CompiledVariable? {
        var found = registry.coreVariables[v.className]
        if found == nil {
            for (name, module) in registry.modules.sorted(by: { $0.key < $1.key }) {
                guard let spec = module.variables[v.className] else { continue }
                if !settings.modules.contains(name) {
                    diagnostics.error("$\(v.className) needs module '\(name)' (loadmodule \"\(name).so\")", at: v.location)
                    return nil
                }
                found = spec
                break
            }
        }
        guard let spec = found else {
            diagnostics.error("unknown variable $\(v.className)", at: v.location)
            return nil
        }
        if case .notYetAvailable(let why) = spec.status {
            diagnostics.error("$\(v.className) is not yet available in Respite (\(why))", at: v.location)
            return nil
        }
        switch (spec.nameRule, v.inner) {
        case (.required, nil):
            diagnostics.error("$\(v.className) needs a name: $\(v.className)(name)", at: v.location)
            return nil
        case (.none, .some):
            diagnostics.error("$\(v.className) takes no name in parentheses", at: v.location)
            return nil
        default: break
        }
        var cv = CompiledVariable(spec: spec, name: VariableName(name: v.inner, index: v.index),
                                  dynamicName: nil, text: v.text)
        if case .dynamic(let text)? = v.index {
            guard let parts = compileFormat(text, at: v.location) else { return nil }
            cv.dynamicIndex = parts
            cv.name.index = .at(0)
        }
        if let inner = v.inner, inner.contains("$") {
            guard let parts = compileFormat(inner, at: v.location) else { return nil }
            cv.dynamicName = parts
        } else if let inner = v.inner, let message = spec.validateName?(inner) {
            diagnostics.error("$\(v.className)(\(inner)): \(message)", at: v.location)
            return nil
        }
        return cv
    }

    /// A string with variables in it, as format parts. A variable's name may hold variables
    /// (`$sht(t=>$var(k))`), which come back here: each level parses its name again and the
    /// interpreter formats it again, so the levels are bounded by
    /// `ScriptLimits.maxVariableNesting`.
    mutating func compileFormat(_ text: String, at location: SourceLocation) -> [FormatPart]? {
        guard formatNesting < ScriptLimits.maxVariableNesting else {
            diagnostics.error("variables nested deeper than \(ScriptLimits.maxVariableNesting) levels in a name", at: location)
            return nil
        }
        formatNesting += 1
        enter()
        defer {
            formatNesting -= 1
            leave()
        }
        let (pieces, failure) = VariableParser.format(text, at: location)
        if let failure {
            diagnostics.error(failure, at: location)
            return nil
        }
        var parts: [FormatPart] = []
        for p in pieces {
            switch p {
            case .literal(let s): parts.append(.literal(s))
            case .variable(let v):
                guard let e = compileVariable(v) else { return nil }
                parts.append(.value(e))
            }
        }
        return parts
    }
}
