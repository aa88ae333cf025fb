/// What a module's `checkParams` sees: its `modparam` lines in the order they are written,
/// with their places, and the settings read so far; where it reports.
public struct ModuleParamsContext {
    /// One `modparam("module", "param", value)` line of this module.
    public struct Entry: Sendable {
        public var param: String
        public var value: ConfigValue
        /// Where the value is written.
        public var location: SourceLocation
    }

    public let module: String
    /// Every `modparam` of the module that passed its own `validate`, in file order.
    public let entries: [Entry]
    /// The core parameters and every module's parameters, defaults included.
    public let settings: ConfigSettings
    /// Kept as `ConfigSettings.derived[module]` for the fixups and the runtime.
    public var derived: (any Sendable)?
    /// Reads a file the parameters name, as the loader reads configs (nil when it cannot).
    public let readFile: (String) -> String?
    var diagnostics = Diagnostics()

    init(module: String, entries: [Entry], settings: ConfigSettings, readFile: @escaping (String) -> String?) {
        self.module = module
        self.entries = entries
        self.settings = settings
        self.readFile = readFile
    }

    public mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.error(message, at: location)
    }

    public mutating func warning(_ message: String, at location: SourceLocation) {
        diagnostics.warning(message, at: location)
    }

    /// The text of another file the parameters name (a connections file), so that its
    /// diagnostics quote the offending line.
    public mutating func addSource(_ text: String, file: String) {
        diagnostics.sources[file] = text
    }
}
