extension Resolver {
    /// Compiles one statement; `last` tells whether it ends its block (for `async_sleep`).
    mutating func compileStatement(_ s: Statement, last: Bool) -> Action? {
        enter()
        defer { leave() }
        switch s {
        case .call(let c):
            if c.name == "route" {
                guard let target = routeTarget(c) else { return nil }
                return .evaluate(.route(target))
            }
            guard let call = compileCall(c, inExpression: false) else { return nil }
            if call.spec.needsFollowingActions && last {
                diagnostics.error("\(c.name) must be followed by more actions in its block: execution resumes with the next action", at: c.location)
            }
            return .call(call.compiled)
        case .expression(let e, _):
            guard let x = compileExpr(e) else { return nil }
            return .evaluate(x)
        case .assign(let v, let op, let e, let location):
            guard let target = assignTarget(v), var value = compileExpr(e) else { return nil }
            if op == .add || op == .sub {
                guard let current = compileVariable(v) else { return nil }
                value = .binary(op == .add ? .add : .sub, current, value)
            }
            return .assign(target, value, location)
        case .ifElse(let cond, let then, let otherwise, _):
            let c = compileExpr(cond)
            let t = compileBlock(then)
            let o = otherwise.map { compileBlock($0) }
            guard let c else { return nil }
            return .ifElse(c, then: t, otherwise: o)
        case .switchOn(let subject, let cases, let location):
            return compileSwitch(subject, cases, location)
        case .whileLoop(let cond, let body, let location):
            let c = compileExpr(cond)
            loopDepth += 1
            let b = compileBlock(body)
            loopDepth -= 1
            guard let c else { return nil }
            return .whileLoop(c, body: b, location)
        case .returnValue(let e, _):
            guard let e else { return .returnValue(nil) }
            guard let x = compileExpr(e) else { return nil }
            return .returnValue(x)
        case .exit:
            return .exit
        case .drop:
            return .drop
        case .breakOut:
            // Outside a switch or while, Kamailio's `break` leaves the route with code 0, and
            // unlike `return 0` the caller goes on.
            return loopDepth == 0 && switchDepth == 0 ? .leaveRoute : .breakOut
        case .block(let body, _):
            return .block(compileBlock(body))
        }
    }

    private mutating func compileSwitch(_ subject: Expr, _ cases: [SwitchCaseSyntax], _ location: SourceLocation) -> Action? {
        let s = compileExpr(subject)
        var table = SwitchTable(cases: [], defaultStart: nil, body: 0)
        var body: [Statement] = []
        for c in cases {
            let start = body.count
            switch c.value {
            case nil:
                if table.defaultStart != nil {
                    diagnostics.error("switch has two 'default' labels", at: c.location)
                }
                table.defaultStart = start
            case .int(let n, _)?:
                table.cases.append((.int(n), start))
            case .string(let str, _)?:
                table.cases.append((.string(str), start))
            case let other?:
                diagnostics.error("a case label must be an integer or a string literal", at: other.location)
            }
            body.append(contentsOf: c.body)
        }
        switchDepth += 1
        table.body = compileBlock(body)
        switchDepth -= 1
        guard let s else { return nil }
        return .switchOn(s, table)
    }

    mutating func assignTarget(_ v: VariableSyntax) -> AssignTarget? {
        if !v.transforms.isEmpty {
            diagnostics.error("cannot assign to a transformed variable \(v.text)", at: v.location)
            return nil
        }
        if v.className == "var" {
            guard let slot = localSlot(v) else { return nil }
            return .localVar(slot)
        }
        guard let cv = registeredVariable(v) else { return nil }
        guard cv.spec.set != nil else {
            diagnostics.error("$\(v.className) is read-only", at: v.location)
            return nil
        }
        return .variable(cv)
    }

    /// `route(NAME)`: a static name checked now, a name with variables looked up at run time.
    mutating func routeTarget(_ c: CallSyntax) -> RouteTarget? {
        guard c.args.count == 1 else {
            diagnostics.error("route takes one route name", at: c.location)
            return nil
        }
        switch c.args[0] {
        case .name(let n, let l):
            return fixedRoute(n, at: l, kind: .inherit).map { .fixed($0) }
        case .string(let n, let l) where !n.contains("$"):
            return fixedRoute(n, at: l, kind: .inherit).map { .fixed($0) }
        case .int(let n, let l):
            return fixedRoute(String(n), at: l, kind: .inherit).map { .fixed($0) }
        case .string(let n, let l):
            guard let parts = compileFormat(n, at: l) else { return nil }
            return .dynamic(.format(parts), .route, l)
        case let other:
            guard let e = compileExpr(other) else { return nil }
            return .dynamic(e, .route, other.location)
        }
    }

    /// Looks a static route name up and records the call edge for the route-type check.
    mutating func fixedRoute(_ name: String, at location: SourceLocation, kind: EdgeKind,
                             table: RouteTable = .route) -> Int? {
        guard let index = routeIndex(name, in: table) else {
            diagnostics.error("unknown route '\(name)': no \(table)[\(name)] in the config", at: location)
            return nil
        }
        if table == .route { edges.append((from: currentRoute, to: index, kind: kind)) }
        return index
    }

    /// The slot of `$var(name)`, created on first use.
    mutating func localSlot(_ v: VariableSyntax) -> Int? {
        guard let name = v.inner, !name.isEmpty else {
            diagnostics.error("$var needs a name: $var(name)", at: v.location)
            return nil
        }
        if name.contains("$") {
            diagnostics.error("$var names cannot hold variables in Respite", at: v.location)
            return nil
        }
        if v.index != nil {
            diagnostics.error("$var takes no index", at: v.location)
            return nil
        }
        if let slot = localSlots[name] { return slot }
        let slot = localNames.count
        localNames.append(name)
        localSlots[name] = slot
        return slot
    }
}
