/// The front door: reads a config, preprocesses, parses, resolves, and returns a `Program` or
/// the diagnostics that stopped it (warnings come back either way).
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
        var diagnostics = pre.diagnostics
        var parser = Parser(tokens: tokens)
        let syntax = parser.parseConfig()
        diagnostics.append(contentsOf: parser.diagnostics)
        var resolver = Resolver(registry: registry)
        let program = resolver.resolve(syntax)
        diagnostics.append(contentsOf: resolver.diagnostics)
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
