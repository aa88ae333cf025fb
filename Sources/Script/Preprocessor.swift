#if canImport(Glibc)
import Glibc
#endif

/// Reads the main file and everything it includes, applies `#!define`, `#!ifdef` and friends,
/// and hands the parser one flat token stream. Kamailio does this inside its lexer; here it is a
/// separate stage over tokens, so every token keeps the file, line and column it came from.
struct Preprocessor {
    /// How files are read; tests substitute an in-memory table.
    typealias FileReader = (String) -> String?

    private struct Define {
        var tokens: [Token]
        var location: SourceLocation?
    }

    private struct Conditional {
        var active: Bool          // tokens in this branch are kept
        var parentActive: Bool
        var seenElse = false
        var location: SourceLocation
    }

    private var defines: [String: Define] = [:]
    private var conditionals: [Conditional] = []
    private var includeStack: [String] = []
    private let read: FileReader
    /// How `#!defenv` reads the environment; tests substitute a table.
    private let environment: (String) -> String?
    /// The `#!subst` rules so far, applied in order to each quoted string that follows.
    private var substs: [SubstRule] = []
    private(set) var diagnostics = Diagnostics()
    private var output: [Token] = []

    /// `defines` are the command line's `-A NAME` / `-A NAME=value` definitions.
    init(defines commandLine: [String: String], read: @escaping FileReader,
         environment: @escaping (String) -> String? = Preprocessor.getEnvironment) {
        self.read = read
        self.environment = environment
        for (name, value) in commandLine {
            var lexer = Lexer(text: value, file: "<command line>")
            var tokens = lexer.tokenize()
            tokens.removeLast()
            defines[name] = Define(tokens: tokens, location: nil)
        }
    }

    /// Reads `path` and returns the preprocessed tokens, ending with one `.end` token.
    mutating func run(path: String) -> [Token] {
        let start = SourceLocation(file: path, line: 1, column: 1)
        include(path: path, from: start, optional: false)
        for c in conditionals {
            diagnostics.error("'#!ifdef' / '#!ifndef' without '#!endif'", at: c.location)
        }
        output.append(Token(kind: .end, text: "", location: output.last?.location ?? start))
        return output
    }

    private mutating func include(path: String, from location: SourceLocation, optional: Bool) {
        if includeStack.contains(path) {
            diagnostics.error("include loop: '\(path)' includes itself (via \(includeStack.joined(separator: " -> ")))", at: location)
            return
        }
        if includeStack.count > ScriptLimits.maxIncludeDepth {
            diagnostics.error("includes nested deeper than \(ScriptLimits.maxIncludeDepth) levels: '\(path)' not read", at: location)
            return
        }
        guard let text = read(path) else {
            if !optional { diagnostics.error("cannot read file '\(path)'", at: location) }
            return
        }
        diagnostics.sources[path] = text
        var lexer = Lexer(text: text, file: path)
        let tokens = lexer.tokenize()
        diagnostics.append(contentsOf: lexer.diagnostics)
        includeStack.append(path)
        process(tokens, directory: Self.directory(of: path))
        includeStack.removeLast()
    }

    private var active: Bool { conditionals.last?.active ?? true }

    private mutating func process(_ tokens: [Token], directory: String) {
        var i = 0
        while i < tokens.count && !diagnostics.stopped {
            let t = tokens[i]
            i += 1
            switch t.kind {
            case .end:
                return
            case .directive:
                directive(t, directory: directory)
            case .identifier where active && (t.text == "include_file" || t.text == "import_file"):
                guard i < tokens.count, tokens[i].kind == .string else {
                    diagnostics.error("\(t.text) needs a quoted file name", at: t.location)
                    continue
                }
                let name = tokens[i].text
                i += 1
                include(path: Self.resolve(name, in: directory), from: t.location,
                        optional: t.text == "import_file")
            case .identifier where active:
                if defines[t.text] == nil {
                    output.append(t)
                } else {
                    var budget = ScriptLimits.maxDefineExpansion
                    expand(t, use: t, depth: 0, budget: &budget)
                }
            case .string where active && !substs.isEmpty && !t.unquoted:
                var s = t
                for rule in substs { s.text = rule.apply(s.text) }
                output.append(s)
            default:
                if active { output.append(t) }
            }
        }
    }

    /// Replaces a defined name by its value; values may use other defines. `use` is the name as
    /// written, where errors point; `budget` is how many more tokens this use may produce
    /// (`ScriptLimits.maxDefineExpansion`): it is set to -1 after an error, so that one
    /// mistake is reported once and the expansion stops.
    private mutating func expand(_ t: Token, use: Token, depth: Int, budget: inout Int) {
        guard budget >= 0 else { return }
        guard t.kind == .identifier, let d = defines[t.text] else {
            if budget == 0 {
                diagnostics.error("'\(use.text)' expands to more than \(ScriptLimits.maxDefineExpansion) tokens", at: use.location)
                budget = -1
                return
            }
            budget -= 1
            output.append(t)
            return
        }
        if depth > 32 {
            diagnostics.error("'\(t.text)' is defined in terms of itself (or through more than 32 other defines)", at: t.location)
            budget = -1
            return
        }
        for var v in d.tokens {
            v.location = t.location
            v.lineStart = t.lineStart
            v.spaceBefore = t.spaceBefore
            expand(v, use: use, depth: depth + 1, budget: &budget)
        }
    }

    private mutating func directive(_ t: Token, directory: String) {
        let words = t.argument.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let firstWord = words.first.map(String.init)
        switch t.text {
        case "ifdef", "ifndef":
            guard let name = firstWord else {
                diagnostics.error("#!\(t.text) needs a name", at: t.location)
                conditionals.append(Conditional(active: false, parentActive: active, location: t.location))
                return
            }
            let defined = defines[name] != nil
            let parent = active
            conditionals.append(Conditional(active: parent && (defined == (t.text == "ifdef")),
                                            parentActive: parent, location: t.location))
        case "else":
            guard var c = conditionals.popLast() else {
                diagnostics.error("#!else without #!ifdef", at: t.location)
                return
            }
            if c.seenElse { diagnostics.error("second #!else for the same #!ifdef", at: t.location) }
            c.seenElse = true
            c.active = c.parentActive && !c.active
            conditionals.append(c)
        case "endif":
            if conditionals.popLast() == nil {
                diagnostics.error("#!endif without #!ifdef", at: t.location)
            }
        default:
            guard active else { return }
            activeDirective(t, name: firstWord)
        }
    }

    private mutating func activeDirective(_ t: Token, name: String?) {
        switch t.text {
        case "KAMAILIO", "RESPITE", "SER", "OPENSER", "MAXCOMPAT", "ALL":
            return
        case "define", "trydef", "redefine":
            guard let name else {
                diagnostics.error("#!\(t.text) needs a name", at: t.location)
                return
            }
            if t.text == "trydef" && defines[name] != nil { return }
            if t.text == "define", let old = defines[name] {
                let whereOld = old.location.map { " (first defined at \($0))" } ?? " (on the command line)"
                diagnostics.error("'\(name)' is already defined\(whereOld); use #!redefine", at: t.location)
                return
            }
            let rest = t.argument.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
            let restColumn = t.argument.count - rest.count
            define(name, as: String(rest), column: restColumn, t)
        case "undef":
            if let name { defines[name] = nil }
        case "subst", "substdef", "substdefs":
            substDirective(t)
        case "defenv", "defenvs", "trydefenv", "trydefenvs":
            defenv(t)
        case "defexp", "defexps":
            defexp(t, name: name)
        case "include_file", "import_file":
            let raw = t.argument.trimmingQuotes()
            let dir = Self.directory(of: t.location.file)
            include(path: Self.resolve(raw, in: dir), from: t.location, optional: t.text == "import_file")
        default:
            diagnostics.error("unknown preprocessor directive '#!\(t.text)'", at: t.location)
        }
    }

    /// Defines `name` as the tokens of `text` (which starts `column` characters into the
    /// directive's argument, for locations).
    private mutating func define(_ name: String, as text: String, column: Int = 0, _ t: Token) {
        let base = t.argumentLocation ?? t.location
        var lexer = Lexer(text: text, file: base.file, line: base.line, column: base.column + column)
        var tokens = lexer.tokenize()
        diagnostics.append(contentsOf: lexer.diagnostics)
        tokens.removeLast()
        defines[name] = Define(tokens: tokens, location: t.location)
    }

    /// Defines `name` as one quoted string.
    private mutating func defineString(_ name: String, _ value: String, _ t: Token) {
        let token = Token(kind: .string, text: value, location: t.argumentLocation ?? t.location)
        defines[name] = Define(tokens: [token], location: t.location)
    }

    /// `#!subst "/re/repl/flags"`: later quoted strings get the substitution. `#!substdef`
    /// also defines the regex (a name) as the replacement, `#!substdefs` as a quoted string.
    private mutating func substDirective(_ t: Token) {
        var message = ""
        guard let rule = SubstRule.parse(t.argument.trimmingQuotes(), error: &message) else {
            diagnostics.error("#!\(t.text): \(message)", at: t.location)
            return
        }
        substs.append(rule)
        guard t.text != "subst" else { return }
        guard rule.pattern.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            diagnostics.error("#!\(t.text): '\(rule.pattern)' is not a name that can be defined", at: t.location)
            return
        }
        if t.text == "substdefs" {
            defineString(rule.pattern, rule.replacement, t)
        } else {
            define(rule.pattern, as: rule.replacement, t)
        }
    }

    /// `#!defenv NAME=VAR` (or `#!defenv VAR`, named as the variable) defines NAME as the
    /// variable's value; `defenvs` as a quoted string. An unset variable is an error, except
    /// for `trydefenv` / `trydefenvs`, which then define nothing.
    private mutating func defenv(_ t: Token) {
        let arg = t.argument
        let name: String, variable: String
        if let eq = arg.firstIndex(of: "=") {
            name = String(arg[..<eq]).trimmingQuotes()
            variable = String(arg[arg.index(after: eq)...]).trimmingQuotes()
        } else {
            name = arg.trimmingQuotes()
            variable = name
        }
        guard !name.isEmpty, !variable.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            diagnostics.error("#!\(t.text) needs NAME=VARIABLE or VARIABLE", at: t.location)
            return
        }
        guard let value = environment(variable) else {
            if !t.text.hasPrefix("try") {
                diagnostics.error("#!\(t.text): environment variable '\(variable)' is not set", at: t.location)
            }
            return
        }
        if t.text.hasSuffix("s") {
            defineString(name, value, t)
        } else {
            define(name, as: value, t)
        }
    }

    /// `#!defexp NAME expression`: NAME is defined as the value of the expression (integers,
    /// quoted strings, defines, operators as in routes); `#!defexps` as a quoted string.
    private mutating func defexp(_ t: Token, name: String?) {
        guard let name else {
            diagnostics.error("#!\(t.text) needs a name and an expression", at: t.location)
            return
        }
        let rest = t.argument.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        let base = t.argumentLocation ?? t.location
        var lexer = Lexer(text: String(rest), file: base.file, line: base.line,
                          column: base.column + t.argument.count - rest.count)
        let raw = lexer.tokenize()
        diagnostics.append(contentsOf: lexer.diagnostics)
        // Defines in the expression are expanded first.
        let saved = output
        output = []
        for token in raw.dropLast() {
            var budget = ScriptLimits.maxDefineExpansion
            expand(token, use: token, depth: 0, budget: &budget)
        }
        var tokens = output
        output = saved
        tokens.append(Token(kind: .end, text: "", location: base))
        var parser = Parser(tokens: tokens)
        let expr = parser.expression()
        diagnostics.append(contentsOf: parser.diagnostics)
        guard let expr else { return }
        if !parser.current.isPunct(";") && parser.current.kind != .end {
            diagnostics.error("#!\(t.text): unexpected \(parser.describe(parser.current)) after the expression", at: t.location)
            return
        }
        let (value, failure) = ConstantFolder.value(of: expr)
        guard let value else {
            diagnostics.error("#!\(t.text): \(failure ?? "not a constant expression")", at: t.location)
            return
        }
        if case .int = value, t.text == "defexp" {
            define(name, as: value.stringValue, t)
        } else {
            defineString(name, value.stringValue, t)
        }
    }

    /// The process environment (`getenv`).
    static func getEnvironment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    static func resolve(_ name: String, in directory: String) -> String {
        name.hasPrefix("/") ? name : directory + name
    }

    /// Reads a file from disk; `nil` when it cannot be read.
    static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    func trimmingQuotes() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        if s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f {
            s = s.dropFirst().dropLast()
        }
        return String(s)
    }
}
