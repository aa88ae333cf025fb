/// The interpreter: runs action lists over an `ExecContext`. Control flow is the `Flow` value
/// each action returns; nothing is thrown.
extension Program {
    /// Runs route `index` as a route of `type` (the runtime's entry point for every route).
    /// Returns how it ended: `.next` (ran to its end), `.exit`, `.drop` or `.return(n)`.
    public func run(route index: Int, as type: RouteType, _ ctx: inout ExecContext) -> Flow {
        // The runtime may run a route from inside a function that another route called.
        guard let saved = enterNesting(routes[index].nesting, route: index, &ctx) else { return .exit }
        defer { ctx.runNesting = saved }
        ctx.routeType = type
        ctx.pendingStop = nil
        return finish(runBlock(routes[index].block, from: 0, &ctx))
    }

    /// Runs `request_route`; `.next` when the config has none.
    public func runRequestRoute(_ ctx: inout ExecContext) -> Flow {
        guard let r = requestRoute else { return .next }
        return run(route: r, as: .request, &ctx)
    }

    /// Runs the rest of an action list from a stored resume point: only the actions from
    /// `point.action` to the end of that list, never back into an enclosing block or into the
    /// route that called it. A point outside the program runs nothing and returns `.exit`.
    public func run(from point: ResumePoint, as type: RouteType = .failure, _ ctx: inout ExecContext) -> Flow {
        let block = Int(point.block)
        guard block >= 0 && block < blocks.count && point.action >= 0 else {
            ctx.log(.error, "resume point \(point) is not in the program")
            return .exit
        }
        // Which route the block is in is not kept: count the deepest a route may be.
        guard let saved = enterNesting(ScriptLimits.maxNesting + ScriptLimits.maxVariableNesting, route: nil, &ctx) else {
            return .exit
        }
        defer { ctx.runNesting = saved }
        ctx.routeType = type
        ctx.pendingStop = nil
        return finish(runBlock(block, from: Int(point.action), &ctx))
    }

    /// Adds `nesting` to what the routes being run hold, and returns the value to restore
    /// after; nil, logged, when that would go beyond `ScriptLimits.maxRunNesting`.
    private func enterNesting(_ nesting: Int, route: Int?, _ ctx: inout ExecContext) -> Int? {
        let saved = ctx.runNesting
        guard saved + nesting + 1 <= ScriptLimits.maxRunNesting else {
            ctx.log(.error, "\(routeName(route)) not run: routes nested more than \(ScriptLimits.maxRunNesting) levels deep (a route calling itself without end?)")
            return nil
        }
        ctx.runNesting = saved + nesting + 1
        return saved
    }

    /// `route[R]`, `failure_route[F]`, `request_route`: how a log line names a route.
    private func routeName(_ index: Int?) -> String {
        guard let index else { return "the resumed route" }
        let r = routes[index]
        if let table = r.table, let name = r.name { return "\(table)[\(name)]" }
        return "\(r.type)"
    }

    /// Calls route `index` as `route(X)` does, from a function body; returns its code.
    public func callRoute(_ index: Int, _ ctx: inout ExecContext) -> Int {
        let v = enterRoute(index, &ctx)
        return v.arithmetic
    }

    private func finish(_ flow: Flow) -> Flow {
        // `break` cannot escape a route (the resolver rejects it), but be safe.
        flow == .break ? .next : flow
    }

    func runBlock(_ id: Int, from start: Int, _ ctx: inout ExecContext) -> Flow {
        let actions = blocks[id]
        var i = start
        while i < actions.count {
            ctx.position = ResumePoint(block: Int32(id), action: Int32(i))
            ctx.actionsStarted &+= 1
            let flow = execute(actions[i], &ctx)
            if flow != .next { return flow }
            i += 1
        }
        return .next
    }

    private func execute(_ action: Action, _ ctx: inout ExecContext) -> Flow {
        switch action {
        case .call(let c):
            let rc = c.body(&ctx, c.args)
            ctx.lastReturnCode = rc
            if let stop = ctx.pendingStop { ctx.pendingStop = nil; return stop }
            return rc == 0 ? .exit : .next
        case .evaluate(let e):
            _ = evaluate(e, &ctx)
            return takeStop(&ctx) ?? .next
        case .assign(let target, let e, let location):
            let v = evaluate(e, &ctx)
            if let stop = takeStop(&ctx) { return stop }
            assign(v, to: target, at: location, &ctx)
            return .next
        case .ifElse(let cond, let then, let otherwise):
            let truth = evaluate(cond, &ctx).isTrue
            if let stop = takeStop(&ctx) { return stop }
            if truth { return runBlock(then, from: 0, &ctx) }
            if let o = otherwise { return runBlock(o, from: 0, &ctx) }
            return .next
        case .switchOn(let subject, let table):
            return runSwitch(subject, table, &ctx)
        case .whileLoop(let cond, let body, let location):
            var count = 0
            while true {
                let truth = evaluate(cond, &ctx).isTrue
                if let stop = takeStop(&ctx) { return stop }
                if !truth { return .next }
                count += 1
                if count > ctx.maxWhileLoops {
                    ctx.log(.error, "\(location): while loop stopped after \(ctx.maxWhileLoops) iterations (max_while_loops)")
                    return .next
                }
                let flow = runBlock(body, from: 0, &ctx)
                if flow == .break { return .next }
                if flow != .next { return flow }
            }
        case .returnValue(let e):
            guard let e else { return .return(1) }
            let v = evaluate(e, &ctx)
            if let stop = takeStop(&ctx) { return stop }
            let code = v.arithmetic
            // Kamailio: `return 0` ends the script, like `exit`.
            return code == 0 ? .exit : .return(code)
        case .exit:
            return .exit
        case .drop:
            return .drop
        case .breakOut:
            return .break
        case .leaveRoute:
            return .return(0)
        case .block(let id):
            return runBlock(id, from: 0, &ctx)
        }
    }

    private func takeStop(_ ctx: inout ExecContext) -> Flow? {
        guard let stop = ctx.pendingStop else { return nil }
        ctx.pendingStop = nil
        return stop
    }

    private func runSwitch(_ subject: CExpr, _ table: SwitchTable, _ ctx: inout ExecContext) -> Flow {
        let v = evaluate(subject, &ctx)
        if let stop = takeStop(&ctx) { return stop }
        var start = table.defaultStart
        for (caseValue, index) in table.cases where Self.switchMatches(v, caseValue) {
            start = index
            break
        }
        guard let s = start else { return .next }
        // Cases fall through to the next one until a `break`, as in Kamailio (and C).
        let flow = runBlock(table.body, from: s, &ctx)
        return flow == .break ? .next : flow
    }

    static func switchMatches(_ v: Value, _ c: Value) -> Bool {
        switch c {
        case .int(let n): return v.intValue == n
        case .string(let s): return v.isNull ? false : v.stringValue == s
        case .null: return v.isNull
        }
    }

    /// Returns false (and logs) when the variable's class refused the value.
    @discardableResult
    func assign(_ v: Value, to target: AssignTarget, at location: SourceLocation, _ ctx: inout ExecContext) -> Bool {
        switch target {
        case .localVar(let slot):
            ctx.localVariables[slot] = v
        case .variable(let cv):
            let name = variableName(cv, &ctx)
            if let set = cv.spec.set, !set(&ctx, name, v) {
                ctx.log(.error, "\(location): cannot assign to \(cv.text)")
                return false
            }
        }
        return true
    }

    /// `route(X)`: runs the route and turns its ending into a value; `exit`/`drop` inside it
    /// stop the caller too.
    func enterRoute(_ index: Int, _ ctx: inout ExecContext) -> Value {
        guard let savedNesting = enterNesting(routes[index].nesting, route: index, &ctx) else {
            // Kamailio gives up the same way: the call fails, the caller goes on.
            ctx.lastReturnCode = -1
            return .int(-1)
        }
        let saved = ctx.position
        let flow = runBlock(routes[index].block, from: 0, &ctx)
        ctx.position = saved
        ctx.runNesting = savedNesting
        switch flow {
        case .next, .break:
            ctx.lastReturnCode = 1
        case .return(let n):
            ctx.lastReturnCode = n
        case .exit, .drop:
            ctx.pendingStop = flow
            ctx.lastReturnCode = 0
        }
        return .int(ctx.lastReturnCode)
    }
}
