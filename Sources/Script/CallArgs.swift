/// The arguments of one call, as its body reads them. Literals were converted at load time;
/// variables and formats are evaluated when read, so a body pays only for what it uses.
public struct CallArgs: Sendable {
    let exprs: [CExpr]
    let routeTables: [RouteTable?]
    /// What the function's fixup stored at load time.
    public let payload: (any Sendable)?
    /// Where the call is written, for run-time log lines.
    public let location: SourceLocation

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

    /// For a `.variable` argument: writes `value` into the variable it names. False when the
    /// variable refuses it (the caller logs it).
    public func assign(_ i: Int, _ value: Value, _ ctx: inout ExecContext) -> Bool {
        i < exprs.count ? ctx.program.store(value, into: exprs[i], &ctx) : false
    }

    /// The value when the argument is a literal, without evaluating anything.
    public func staticValue(_ i: Int) -> Value? {
        guard i < exprs.count, case .constant(let v) = exprs[i] else { return nil }
        return v
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
