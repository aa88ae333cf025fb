/// Log levels of the script's own messages (and of `xlog` as the runtime implements it).
public enum ScriptLogLevel: Int, Sendable, Comparable {
    case debug, info, notice, warning, error, critical, alert

    public static func < (a: ScriptLogLevel, b: ScriptLogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The per-process state the interpreter and every function body work on; passed `inout`
/// everywhere, so there is no global mutable state. One lives in each process; the runtime
/// resets the per-request parts (flags, host) for each message.
public struct ExecContext {
    /// The program being run.
    public let program: Program
    /// `$var(...)` values by slot: private to this process, kept from one message to the next
    /// as in Kamailio.
    public var localVariables: [Value]
    /// Message flags (`setflag`): a bit mask the runtime saves with a suspended transaction.
    public var flags: UInt64 = 0
    /// The type of the route being run, as the runtime entered it.
    public var routeType: RouteType = .request
    /// The runtime's per-request state (message, transaction...), for function bodies.
    public var host: AnyObject?
    /// Where the script's own errors and warnings go (runaway loops, unknown dynamic routes).
    public var log: (ScriptLogLevel, String) -> Void = { _, _ in }
    /// Most iterations one `while` may run (core parameter `max_while_loops`).
    public var maxWhileLoops: Int
    /// The return code of the last function call or `route()` (`$rc`).
    public var lastReturnCode: Int = 0
    /// The action being run.
    public internal(set) var position = ResumePoint(block: 0, action: 0)
    /// How many actions this process has started: a function can tell whether something
    /// recorded during an earlier action was recorded by the one just before it (what
    /// `sl_reply_error` reads of a failed `t_relay`).
    public internal(set) var actionsStarted: UInt64 = 0
    /// Set when a function returned 0 (or a route exited) inside an expression: the action
    /// around it stops with this flow.
    var pendingStop: Flow?
    /// The nesting of the routes being run, one inside the other (each counts its deepest
    /// nesting): kept within `ScriptLimits.maxRunNesting`, so the stack is bounded.
    var runNesting = 0

    init(program: Program, host: AnyObject?) {
        self.program = program
        self.host = host
        self.localVariables = [Value](repeating: .null, count: program.localVariableNames.count)
        self.maxWhileLoops = program.maxWhileLoops
    }

    /// Where a function that suspends (`async_sleep`) resumes: the action after the current one
    /// in the same action list.
    public var resumePointAfterCurrentAction: ResumePoint {
        ResumePoint(block: position.block, action: position.action + 1)
    }

    /// Whether message flag `n` (0...63) is set.
    public func isFlagSet(_ n: Int) -> Bool {
        n >= 0 && n < 64 && flags & (1 << UInt64(n)) != 0
    }

    public mutating func setFlag(_ n: Int) {
        if n >= 0 && n < 64 { flags |= 1 << UInt64(n) }
    }

    public mutating func resetFlag(_ n: Int) {
        if n >= 0 && n < 64 { flags &= ~(1 << UInt64(n)) }
    }
}
