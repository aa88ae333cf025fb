/// The arguments of one call, as its body reads them. Literals were converted at load time;
/// variables and formats are evaluated when read, so a body pays only for what it uses.
/// A class, made once at load: a call hands its body a reference, not a copy of each array.
public final class CallArgs: Sendable {
    let exprs: [CExpr]
    let routeTables: [RouteTable?]
    /// For `.variable` arguments: where an assignment goes.
    let targets: [AssignTarget?]
    /// For `.variableList` arguments: the variables, by argument.
    let lists: [Int: [AssignTarget]]
    /// What the function's fixup stored at load time.
    public let payload: (any Sendable)?
    /// Where the call is written, for run-time log lines.
    public let location: SourceLocation

    init(exprs: [CExpr], routeTables: [RouteTable?], targets: [AssignTarget?], lists: [Int: [AssignTarget]] = [:],
         payload: (any Sendable)?, location: SourceLocation) {
        self.exprs = exprs
        self.routeTables = routeTables
        self.targets = targets
        self.lists = lists
        self.payload = payload
        self.location = location
    }

    public var count: Int { exprs.count }

    /// The argument's value.
    public func value(_ i: Int, _ ctx: inout ExecContext) -> Value {
        i < exprs.count ? ctx.program.evaluate(exprs[i], &ctx) : .null
    }

    /// The argument as a string (formats formatted, integers in decimal).
    public func string(_ i: Int, _ ctx: inout ExecContext) -> String {
        value(i, &ctx).stringValue
    }

    /// The argument as an integer: a literal, or a variable holding an integer. A variable
    /// holding a string (even "2") gives nil, as Kamailio's integer parameters do.
    public func int(_ i: Int, _ ctx: inout ExecContext) -> Int? {
        if case .int(let n) = value(i, &ctx) { return n }
        return nil
    }

    /// The values of the argument's `.value` pieces (`FixupContext.pieces`), in order,
    /// without joining them to the text around them.
    public func pieceValues(_ i: Int, _ ctx: inout ExecContext) -> [Value] {
        guard i < exprs.count else { return [] }
        switch exprs[i] {
        case .constant: return []
        case .format(let parts):
            var values: [Value] = []
            for case .value(let e) in parts { values.append(ctx.program.evaluate(e, &ctx)) }
            return values
        case let e: return [ctx.program.evaluate(e, &ctx)]
        }
    }

    /// The value when the argument is a literal, without evaluating anything.
    public func staticValue(_ i: Int) -> Value? {
        guard i < exprs.count, case .constant(let v) = exprs[i] else { return nil }
        return v
    }

    /// For a `.variable` argument: assigns `v` to the variable, as `$x = v` would (a `$var`
    /// takes any value, `$avp` and `$xavp` add a value in front, `$null` deletes). Returns
    /// false, and logs, when the variable refused the value.
    @discardableResult
    public func assign(_ i: Int, _ v: Value, _ ctx: inout ExecContext) -> Bool {
        guard i < targets.count, let target = targets[i] else { return false }
        return ctx.program.assign(v, to: target, at: location, &ctx)
    }

    /// For a `.variableList` argument: how many variables it names.
    public func variableCount(_ i: Int) -> Int { lists[i]?.count ?? 0 }

    /// For a `.variableList` argument: the class of its variable `element` (`var`, `avp`,
    /// `xavp`, `ru`...).
    public func variableClass(_ i: Int, element: Int) -> String? {
        guard let list = lists[i], element < list.count else { return nil }
        switch list[element] {
        case .localVar: return "var"
        case .variable(let cv): return cv.spec.name
        }
    }

    /// For a `.variableList` argument: assigns `v` to its variable `element`, as `assign`.
    @discardableResult
    public func assign(_ i: Int, element: Int, _ v: Value, _ ctx: inout ExecContext) -> Bool {
        guard let list = lists[i], element < list.count else { return false }
        return ctx.program.assign(v, to: list[element], at: location, &ctx)
    }

    /// For a `.routeName` argument: the route's index, checked at load time for a static
    /// name, looked up by name for a dynamic one (nil when no such route exists).
    public func route(_ i: Int, _ ctx: inout ExecContext) -> Int? {
        guard i < exprs.count else { return nil }
        if case .constant(.int(let index)) = exprs[i], routeTables[i] != nil { return index }
        let name = string(i, &ctx)
        return ctx.program.routeIndex(name, in: routeTables[i] ?? .route)
    }
}
