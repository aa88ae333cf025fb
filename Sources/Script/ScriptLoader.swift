/// The front door: reads a config, preprocesses, parses, resolves, and returns a `Program` or
/// the diagnostics that stopped it (warnings come back either way).
///
/// Language choices, where Kamailio leaves room or Respite differs:
/// - Values are integers (`Int`), strings or null. An unset `$var(x)` is null.
/// - The left operand decides: `int + x` adds (x converted, 0 if it cannot be), `string + x`
///   concatenates, `null + x` takes x's type. `==` / `<` compare as integers when the left side
///   is an integer, as strings otherwise; null equals only null and orders with nothing.
/// - `=~` / `!~` use POSIX extended, case-insensitive regexes (as Kamailio), compiled at load
///   time when the pattern is a literal.
/// - Truth: a function's code > 0 is true, < 0 false, 0 stops the script; any other value is
///   true when it is a positive integer or a non-empty string.
/// - `return` alone returns 1; `return 0` ends the script like `exit`; `route(X)` is worth the
///   code X returned (1 when it ran to its end).
/// - String literals are formatted (`"$fU"` replaced) where a function takes a string; in an
///   expression (`$var(s) = "a$b"`) they stay literal, as in Kamailio.
/// - Strings end at their line; unknown escapes (`\d`) are kept as written.
/// - Route types propagate through static `route(X)` calls and through route-name arguments
///   (`async_route("R", 1)` makes `route[R]` run as a failure route); routes reached only
///   through dynamic names, or not at all, are not type-checked.
public struct ScriptLoader {
    public var registry: ScriptRegistry
    /// `-A NAME` and `-A NAME=value` definitions.
    public var defines: [String: String]
    /// How files are read (tests give an in-memory table); default: the file system.
    public var readFile: (String) -> String?

    public init(registry: ScriptRegistry, defines: [String: String] = [:],
                readFile: ((String) -> String?)? = nil) {
        self.registry = registry
        self.defines = defines
        self.readFile = readFile ?? { Preprocessor.readFile($0) }
    }

    /// What a load produced.
    public struct Result {
        /// The compiled program; nil when there were errors.
        public var program: Program?
        public var diagnostics: Diagnostics
        /// The syntax tree, when the file could be parsed (for tools).
        public var syntax: ConfigSyntax?
    }

    /// Parses one `-A` argument: `NAME` or `NAME=value`.
    public static func define(_ argument: String) -> (name: String, value: String) {
        guard let eq = argument.firstIndex(of: "=") else { return (argument, "") }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }

    /// Loads the config at `path`.
    public func load(path: String) -> Result {
        var pre = Preprocessor(defines: defines, read: readFile)
        let tokens = pre.run(path: path)
        // One Diagnostics goes through the stages, so the error limit counts them all.
        var parser = Parser(tokens: tokens, diagnostics: pre.diagnostics)
        let syntax = parser.parseConfig()
        var resolver = Resolver(registry: registry, diagnostics: parser.diagnostics)
        resolver.readFile = readFile
        let program = resolver.resolve(syntax)
        var diagnostics = resolver.diagnostics
        diagnostics.sortByLocation()
        return Result(program: diagnostics.hasErrors ? nil : program, diagnostics: diagnostics, syntax: syntax)
    }

    /// Loads a config given as text, named `name` in diagnostics (includes are read normally).
    public func load(text: String, name: String = "<config>") -> Result {
        var copy = self
        let read = readFile
        copy.readFile = { $0 == name ? text : read($0) }
        return copy.load(path: name)
    }
}
