/// What one argument of a function must be.
public enum ArgKind: Sendable, Equatable {
    /// A string; a literal may hold variables and is compiled to a format (`"R_$var(x)"`).
    case string
    /// An integer: a literal (`4` or `"4"`, checked at load time) or a variable read at run time.
    case int
    /// The name of a route of `table`: a static name is checked against the config at load
    /// time, a dynamic one resolved at each call. `runsAs` is the route type the named route
    /// runs under when the function starts it (async resumes run as `.failure`); `nil` when the
    /// function only records the name (as `t_on_failure` does, the table says the type).
    case routeName(RouteTable, runsAs: RouteType?)
    /// Any expression, passed as its value.
    case any
    /// A string taken as written: a literal's `$` stays text (`http_connect_raw`'s data); a
    /// variable written bare (not quoted) is read.
    case rawString
    /// A variable the function writes its result to, as Kamailio's result parameters are
    /// given: `"$var(x)"` (a string holding exactly one variable) or `$var(x)`. Checked at
    /// load time to be one variable that can be assigned; the body reads it with
    /// `CallArgs.value` and writes it with `CallArgs.assign`.
    case variable
    /// Several variables the function writes to, in one string: `"$var(a), $avp(b)"`
    /// (separated by `,` or `;`). Each is checked as `.variable` is; the body writes them with
    /// `CallArgs.assign(_:element:_:_:)`.
    case variableList
}

/// The implementation of a function: given the per-process context and its arguments, returns
/// Kamailio's code: > 0 true, < 0 false, 0 stop the script.
public typealias FunctionBody = @Sendable (inout ExecContext, CallArgs) -> Int

/// A function a config may call, from the core or from a module.
public struct FunctionSpec: Sendable {
    public var name: String
    /// The kind of each argument by position; the most arguments the function takes.
    public var args: [ArgKind]
    /// The fewest arguments it takes.
    public var minArgs: Int
    /// The kinds for a call with that many arguments, where they differ from `args` by
    /// position (`http_connect(con, url, result)` beside `http_connect(con, url, type, data,
    /// result)`).
    public var kindsByArity: [Int: [ArgKind]] = [:]
    /// Where it may be used; checked per route, and through `route(X)` calls transitively.
    public var allowedRoutes: RouteTypeSet
    public var status: Availability
    /// The call suspends and later resumes with the next action (`async_sleep`): it must be
    /// followed by more actions in its block and cannot be used inside an expression.
    public var needsFollowingActions: Bool
    /// Load-time check of the arguments (ranges, group names...); may store a payload for the
    /// body in `FixupContext.payload`.
    public var fixup: (@Sendable (inout FixupContext) -> Void)?
    public var body: FunctionBody

    public init(_ name: String, args: [ArgKind] = [], minArgs: Int? = nil,
                allowedRoutes: RouteTypeSet = .any, status: Availability = .available,
                needsFollowingActions: Bool = false, kindsByArity: [Int: [ArgKind]] = [:],
                fixup: (@Sendable (inout FixupContext) -> Void)? = nil,
                body: @escaping FunctionBody) {
        self.name = name
        self.args = args
        self.minArgs = minArgs ?? args.count
        self.kindsByArity = kindsByArity
        self.allowedRoutes = allowedRoutes
        self.status = status
        self.needsFollowingActions = needsFollowingActions
        self.fixup = fixup
        self.body = body
    }
}

/// What a fixup sees: the static arguments and the loaded settings; where it reports.
public struct FixupContext {
    public let functionName: String
    public let location: SourceLocation
    /// Each argument's value when it is a literal (after kind conversion), else nil.
    public let staticArgs: [Value?]
    public let argLocations: [SourceLocation]
    /// Each argument as written, in pieces: a literal is one `.text`, a string with
    /// variables alternates text and `.value`, any other expression is one `.value`. For a
    /// function that must treat the text and the values apart (sqlops binds the values as
    /// statement parameters); the body reads the values with `CallArgs.pieceValues`.
    public let pieces: [[ArgPiece]]
    /// The config's core parameters and module parameters, defaults included.
    public let settings: ConfigSettings
    /// Handed to the body through `CallArgs.payload`.
    public var payload: (any Sendable)?
    var diagnostics = Diagnostics()

    public var argumentCount: Int { staticArgs.count }

    public func staticInt(_ i: Int) -> Int? {
        i < staticArgs.count ? staticArgs[i]?.intValue : nil
    }

    public func pieces(_ i: Int) -> [ArgPiece] {
        i < pieces.count ? pieces[i] : []
    }

    public func staticString(_ i: Int) -> String? {
        guard i < staticArgs.count, let v = staticArgs[i] else { return nil }
        return v.stringValue
    }

    /// Reports an error at the argument (or the call when `argument` is nil).
    public mutating func error(_ message: String, argument: Int? = nil) {
        diagnostics.error(message, at: place(argument))
    }

    public mutating func warning(_ message: String, argument: Int? = nil) {
        diagnostics.warning(message, at: place(argument))
    }

    private func place(_ argument: Int?) -> SourceLocation {
        guard let a = argument, a < argLocations.count else { return location }
        return argLocations[a]
    }
}

/// One piece of an argument as written (`FixupContext.pieces`).
public enum ArgPiece: Sendable, Equatable {
    /// Text written in the config.
    case text(String)
    /// A variable (or expression) read at run time; `CallArgs.pieceValues` gives the values
    /// of an argument's `.value` pieces, in order.
    case value
}

/// The values of a config's core parameters and module parameters, defaults filled in.
public struct ConfigSettings: Sendable {
    /// Every value each core parameter was given, in order (`listen` may repeat).
    public internal(set) var core: [String: [ConfigValue]] = [:]
    /// module -> param -> every value given, in order.
    public internal(set) var modparams: [String: [String: [ConfigValue]]] = [:]
    /// The loaded modules, by name.
    public internal(set) var modules: Set<String> = []
    /// The custom parameters (`group.name = value desc "..."`), by `group.name`.
    public internal(set) var custom: [String: ConfigValue] = [:]
    /// What each module's `checkParams` derived from its parameters (parsed connection
    /// tables...), by module name, for its fixups and for the runtime.
    public internal(set) var derived: [String: any Sendable] = [:]
    /// The module parameters that are formats (`ModuleParamSpec.isFormat`), compiled, by
    /// "module.param" (the last value given).
    public internal(set) var formats: [String: CompiledFormat] = [:]
    var coreDefaults: [String: ConfigValue] = [:]
    var moduleDefaults: [String: [String: ConfigValue]] = [:]

    public init() {}

    /// The last value given to a core parameter, or its default.
    public func core(_ name: String) -> ConfigValue? { core[name]?.last ?? coreDefaults[name] }

    /// The last value given to a module parameter, or its default.
    public func modparam(_ module: String, _ param: String) -> ConfigValue? {
        modparams[module]?[param]?.last ?? moduleDefaults[module]?[param]
    }

    public func coreInt(_ name: String) -> Int? {
        if case .int(let i) = core(name) { return i }
        return nil
    }

    public func modparamInt(_ module: String, _ param: String) -> Int? {
        if case .int(let i) = modparam(module, param) { return i }
        return nil
    }
}

/// A module parameter's string with variables in it, compiled when the config loaded
/// (`ModuleParamSpec.isFormat`); `Program.format` turns it into text for one message.
public struct CompiledFormat: Sendable {
    let parts: [FormatPart]

    /// Every part is text or a variable whose class is `fixedPerMessage`, named without
    /// variables: formatting it later while the same message is handled gives the same text.
    public var isFixedPerMessage: Bool {
        parts.allSatisfy { part in
            switch part {
            case .literal: return true
            case .value(.variable(let v)): return v.spec.fixedPerMessage && v.dynamicName == nil && v.dynamicIndex == nil
            case .value: return false
            }
        }
    }
}
