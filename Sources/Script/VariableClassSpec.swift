/// The parsed name of a variable as its class's getter and setter receive it:
/// `$hdr(From)[1]` has name `From` and index 1.
public struct VariableName: Sendable, Equatable {
    /// The inner name, after formatting when it held variables (`$sht(t=>$ci)`).
    public var name: String?
    public var index: VariableSyntax.Index?

    public init(name: String?, index: VariableSyntax.Index? = nil) {
        self.name = name
        self.index = index
    }
}

/// A class of pseudo-variables: `ru`, `hdr`, `avp`, `sht`... registered by the runtime.
public struct VariableClassSpec: Sendable {
    public enum NameRule: Sendable { case none, required, optional }

    public var name: String
    public var nameRule: NameRule
    public var status: Availability
    /// Load-time check of a static inner name; returns an error message or nil.
    public var validateName: (@Sendable (String) -> String?)?
    public var get: @Sendable (inout ExecContext, VariableName) -> Value
    /// Assigns; returns false when the value cannot be stored (the interpreter logs it).
    public var set: (@Sendable (inout ExecContext, VariableName, Value) -> Bool)?
    /// Its value is read from the message as received and its source, so it stays the
    /// same while the message is handled (until `msg_apply_changes` replaces the message).
    public var fixedPerMessage = false

    public init(_ name: String, nameRule: NameRule = .none, status: Availability = .available,
                validateName: (@Sendable (String) -> String?)? = nil,
                get: @escaping @Sendable (inout ExecContext, VariableName) -> Value,
                set: (@Sendable (inout ExecContext, VariableName, Value) -> Bool)? = nil) {
        self.name = name
        self.nameRule = nameRule
        self.status = status
        self.validateName = validateName
        self.get = get
        self.set = set
    }
}
