/// Parses the spelling of a pseudo-variable: `$name`, `$name(inner)`, `$name(inner)[index]`
/// and `$(name(inner)[index]{tr1}{tr2,a,b})`. Also finds the variables inside a string for
/// format strings (`"caller: $fU"`).
struct VariableParser {
    private let chars: [Character]
    private var pos = 0
    private let location: SourceLocation
    /// Why `parse()` returned nil.
    private(set) var failure: String?

    init(text: String, location: SourceLocation) {
        self.chars = Array(text)
        self.location = location
    }

    private init(chars: [Character], start: Int, location: SourceLocation) {
        self.chars = chars
        self.pos = start
        self.location = location
    }

    /// The whole text must be one variable.
    mutating func parse() -> VariableSyntax? {
        guard let v = scan(), pos == chars.count else {
            if failure == nil { failure = "malformed variable '\(String(chars))'" }
            return nil
        }
        return v
    }

    private func isNameChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    private mutating func scan() -> VariableSyntax? {
        let start = pos
        guard pos < chars.count, chars[pos] == "$" else { return nil }
        pos += 1
        let wrapped = pos < chars.count && chars[pos] == "("
        if wrapped { pos += 1 }
        let nameStart = pos
        while pos < chars.count, isNameChar(chars[pos]) { pos += 1 }
        guard pos > nameStart else {
            failure = "expected a variable name after '$'"
            return nil
        }
        var v = VariableSyntax(className: String(chars[nameStart..<pos]), inner: nil, index: nil,
                               transforms: [], text: "", location: location)
        if pos < chars.count, chars[pos] == "(" {
            guard let inner = balanced("(", ")") else { return nil }
            v.inner = inner
        }
        if pos < chars.count, chars[pos] == "[" {
            guard let raw = balanced("[", "]") else { return nil }
            let trimmed = raw.trimmingQuotes()
            if trimmed == "*" {
                v.index = .all
            } else if let i = Int(trimmed) {
                v.index = .at(i)
            } else if trimmed.hasPrefix("$") {
                v.index = .dynamic(trimmed)
            } else {
                failure = "variable index must be an integer, a variable or '*', found '\(raw)'"
                return nil
            }
        }
        if wrapped {
            while pos < chars.count, chars[pos] == "{" {
                let at = location
                guard let raw = balanced("{", "}") else { return nil }
                v.transforms.append(Self.transform(raw, at: at))
            }
            guard pos < chars.count, chars[pos] == ")" else {
                failure = "expected ')' to close '$(' in '\(String(chars[start...].prefix(40)))'"
                return nil
            }
            pos += 1
        }
        v.text = String(chars[start..<pos])
        return v
    }

    /// Consumes `open ... close` (nested) and returns what is between.
    private mutating func balanced(_ open: Character, _ close: Character) -> String? {
        var depth = 0
        let start = pos
        while pos < chars.count {
            let c = chars[pos]
            pos += 1
            if c == open { depth += 1 }
            if c == close {
                depth -= 1
                if depth == 0 { return String(chars[(start + 1)..<(pos - 1)]) }
            }
        }
        failure = "missing '\(close)' in variable"
        return nil
    }

    /// `s.substr,1,2` -> name `s.substr`, params `1`, `2`. `s.select` keeps its separator whole,
    /// so `{s.select,0,,}` selects on a comma.
    static func transform(_ raw: String, at location: SourceLocation) -> TransformSyntax {
        guard let comma = raw.firstIndex(of: ",") else {
            return TransformSyntax(name: raw, params: [], location: location)
        }
        let name = String(raw[..<comma])
        let rest = String(raw[raw.index(after: comma)...])
        var params: [String]
        if name == "s.select", let c = rest.firstIndex(of: ",") {
            params = [String(rest[..<c]), String(rest[rest.index(after: c)...])]
        } else {
            params = rest.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        params = params.map { $0.count > 1 ? $0.trimmingQuotes() : $0 }
        return TransformSyntax(name: name, params: params, location: location)
    }

    /// One piece of a format string.
    enum FormatPiece: Sendable {
        case literal(String)
        case variable(VariableSyntax)
    }

    /// Splits a string into literal runs and variables. A `$` that does not start a variable
    /// stays literal text. Variables carry the string's location moved to their column.
    static func format(_ text: String, at location: SourceLocation) -> (pieces: [FormatPiece], error: String?) {
        let chars = Array(text)
        var pieces: [FormatPiece] = []
        var literal = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 1 < chars.count, chars[i + 1].isLetter || chars[i + 1] == "_" || chars[i + 1] == "(" {
                // +1: the opening quote of the literal.
                var p = VariableParser(chars: chars, start: i, location: location.advanced(by: i + 1))
                if var v = p.scan() {
                    v.location = location.advanced(by: i + 1)
                    if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                    pieces.append(.variable(v))
                    i = p.pos
                    continue
                }
                return (pieces, p.failure)
            }
            literal.append(chars[i])
            i += 1
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return (pieces, nil)
    }
}
