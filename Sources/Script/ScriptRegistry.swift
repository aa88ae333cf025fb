/// Everything a configuration may name, registered by the runtime before a config is loaded:
/// core parameters, modules (their parameters, functions and variables), core functions and
/// core variables. The resolver checks a config against it; the interpreter calls the closures
/// it holds. `ScriptRegistry.standard()` starts with what the Script target implements itself.
public struct ScriptRegistry: Sendable {
    public private(set) var coreParams: [String: CoreParamSpec] = [:]
    public private(set) var modules: [String: ModuleSpec] = [:]
    /// Functions that need no `loadmodule` (Kamailio's core functions).
    public private(set) var coreFunctions: [String: FunctionSpec] = [:]
    /// Variable classes that need no `loadmodule`.
    public private(set) var coreVariables: [String: VariableClassSpec] = [:]
    /// The `event_route[...]` names the runtime raises; when non-empty, a config route with
    /// another name gets a warning (it would never run).
    public var eventRoutes: Set<String> = []

    /// An empty registry: not even `setflag`. Most callers want `standard()`.
    public init() {}

    public mutating func register(_ param: CoreParamSpec) { coreParams[param.name] = param }
    public mutating func register(_ module: ModuleSpec) { modules[module.name] = module }
    public mutating func register(coreFunction f: FunctionSpec) { coreFunctions[f.name] = f }
    public mutating func register(coreVariable v: VariableClassSpec) { coreVariables[v.name] = v }
    /// The core's bare words in expressions (`proto`, `af`, `src_port`): read like a
    /// variable without a name (`proto == TCP`).
    public private(set) var keywords: [String: VariableClassSpec] = [:]
    /// The constants those words compare with (`TCP`, `INET6`).
    public private(set) var keywordConstants: [String: Value] = [:]
    public mutating func register(keyword v: VariableClassSpec) { keywords[v.name] = v }
    /// The keywords that compare with `myself` (`uri == myself`, `src_ip != myself`) and
    /// what kind of value each gives; each must also be registered as a keyword.
    public private(set) var myselfSubjects: [String: MyselfSubject] = [:]
    /// Whether a value names this server; set by the runtime, which knows the listen sockets
    /// and aliases. Without it, `myself` is an unknown word.
    public private(set) var myself: MyselfCheck?
    public mutating func register(myselfSubject name: String, _ kind: MyselfSubject) { myselfSubjects[name] = kind }
    /// The core's selects by path without indexes (`via.host` for `@via[2].host`); the
    /// getter receives the index (1-based, as written) in its name's `index`.
    public private(set) var selects: [String: VariableClassSpec] = [:]
    public mutating func register(select v: VariableClassSpec) { selects[v.name] = v }
    public mutating func register(myself check: @escaping MyselfCheck) { myself = check }
    public mutating func register(keywordConstant name: String, _ value: Value) { keywordConstants[name] = value }

    /// Adds functions, variables or parameters to a module already registered (or creates it).
    public mutating func extend(module name: String, _ change: (inout ModuleSpec) -> Void) {
        var m = modules[name] ?? ModuleSpec(name: name)
        change(&m)
        modules[name] = m
    }
}

/// What a core parameter's value must be.
public enum ConfigValueKind: Sendable {
    /// An integer literal.
    case int
    /// `yes/no/on/off/true/false` or an integer; stored as `.int(1)` / `.int(0)`.
    case bool
    /// A quoted string.
    case string
    /// Raw text up to the end of the line, kept as a string (`listen=udp:127.0.0.1:5060`).
    case raw
    /// An integer or a string.
    case intOrString
}

/// A core parameter (`children=4`).
public struct CoreParamSpec: Sendable {
    public var name: String
    public var kind: ConfigValueKind
    /// The value when the config does not set it.
    public var defaultValue: ConfigValue?
    /// May appear several times (`listen`); otherwise a repeat is a warning and the last wins.
    public var repeatable: Bool
    /// Checks the value; returns an error message, or nil when it is acceptable.
    public var validate: (@Sendable (ConfigValue) -> String?)?
    /// Set for a parameter Respite accepts but has nothing to apply to (SCTP, TLS): why, as
    /// the load warning says it.
    public var noEffect: String?
    /// The value is a string with variables in it (`log_prefix`): compiled when the config
    /// loads, kept in `ConfigSettings.formats` as "core.<name>".
    public var isFormat = false

    public init(_ name: String, _ kind: ConfigValueKind, default defaultValue: ConfigValue? = nil,
                repeatable: Bool = false, noEffect: String? = nil, isFormat: Bool = false,
                validate: (@Sendable (ConfigValue) -> String?)? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.repeatable = repeatable
        self.noEffect = noEffect
        self.isFormat = isFormat
        self.validate = validate
    }
}

/// A `modparam` parameter.
public struct ModuleParamSpec: Sendable {
    public var name: String
    /// `.int`, `.string` or `.intOrString` (Kamailio's INT_PARAM, STR_PARAM, both).
    public var kind: ConfigValueKind
    public var defaultValue: ConfigValue?
    /// Checks the value; returns an error message, or nil when it is acceptable.
    public var validate: (@Sendable (ConfigValue) -> String?)?
    /// The value is a string with variables in it (acc's `log_extra`): compiled when the
    /// config loads, kept in `ConfigSettings.formats`, formatted with `Program.format`.
    public var isFormat = false

    public init(_ name: String, _ kind: ConfigValueKind, default defaultValue: ConfigValue? = nil,
                isFormat: Bool = false, validate: (@Sendable (ConfigValue) -> String?)? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isFormat = isFormat
        self.validate = validate
    }
}

/// Whether Respite provides something yet.
public enum Availability: Sendable, Equatable {
    case available
    /// Known but not implemented: using it is a load-time error "X is not yet available in
    /// Respite (reason)" instead of "unknown function".
    case notYetAvailable(String)
}

/// A module: `loadmodule "name.so"` makes its functions and variables usable.
public struct ModuleSpec: Sendable {
    public var name: String
    public var params: [String: ModuleParamSpec] = [:]
    public var functions: [String: FunctionSpec] = [:]
    public var variables: [String: VariableClassSpec] = [:]
    public var status: Availability
    /// Checks the module's parameters together once they are all read (what one value's
    /// `validate` cannot see: their order, references between them, files they name), and
    /// may derive something for the fixups and the runtime (`ConfigSettings.derived`).
    public var checkParams: (@Sendable (inout ModuleParamsContext) -> Void)?

    public init(name: String, params: [ModuleParamSpec] = [], functions: [FunctionSpec] = [],
                variables: [VariableClassSpec] = [], status: Availability = .available,
                checkParams: (@Sendable (inout ModuleParamsContext) -> Void)? = nil) {
        self.name = name
        self.status = status
        self.checkParams = checkParams
        for p in params { self.params[p.name] = p }
        for f in functions { self.functions[f.name] = f }
        for v in variables { self.variables[v.name] = v }
    }
}

/// What a keyword compared with `myself` gives: a SIP URI (its host and port are checked)
/// or an IP address (checked against every port).
public enum MyselfSubject: Sendable { case uri, address }

/// Whether a value (a URI or an address, as `MyselfSubject` says) names this server.
public typealias MyselfCheck = @Sendable (inout ExecContext, Value, MyselfSubject) -> Bool
