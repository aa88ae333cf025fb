/// One lexical token, with where it came from. Tokens produced by a `#!define` carry the place
/// where the name was used, so a diagnostic points at the line the user wrote.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        /// An identifier: letters, digits, `_`.
        case identifier
        /// A decimal or hexadecimal integer literal; the value is in `intValue`.
        case integer
        /// A quoted string; `text` is its content with escapes applied.
        case string
        /// A pseudo-variable, `text` is its raw spelling (`$var(x)`, `$(ru{s.len})`).
        case variable
        /// An operator or punctuation mark.
        case punct
        /// A `#!name rest` preprocessor line: `text` is the name, `argument` the rest.
        case directive
        case end
    }

    var kind: Kind
    var text: String
    var intValue: Int = 0
    var argument: String = ""
    var location: SourceLocation
    /// Where `argument` starts, for directives whose argument is lexed again.
    var argumentLocation: SourceLocation? = nil
    /// True when whitespace or a comment separates this token from the previous one.
    var spaceBefore = false
    /// True when this is the first token on its line.
    var lineStart = false
    /// A string written without quotes (a bare IPv4 address): raw text keeps it bare.
    var unquoted = false

    func isPunct(_ p: String) -> Bool { kind == .punct && text == p }
    func isIdentifier(_ name: String) -> Bool { kind == .identifier && text == name }

    /// How the token is spelled again when raw text is rebuilt (listen values, route names).
    var spelling: String {
        switch kind {
        case .string: return text
        case .directive: return "#!" + text
        case .end: return ""
        default: return text
        }
    }
}
