/// Builds the syntax tree from the preprocessed tokens. On an error it records a diagnostic and
/// skips forward to the next statement (or top-level item), never back, so one run reports
/// several mistakes in one pass; it stops when the diagnostics do ("too many errors").
/// Nesting is bounded by `ScriptLimits.maxNesting`, which bounds the parser's own recursion
/// and the depth of the trees the resolver and the interpreter recurse on.
struct Parser {
    var tokens: [Token]
    var pos = 0
    var diagnostics: Diagnostics
    var config = ConfigSyntax()
    /// The statements and parser recursions (parentheses, arguments, operands) around the
    /// current token; at most `ScriptLimits.maxNesting`.
    var nesting = 0

    /// `diagnostics` holds what the stages before found, so the error limit counts them too.
    init(tokens: [Token], diagnostics: Diagnostics = Diagnostics()) {
        self.tokens = Self.joiningAdjacentStrings(tokens)
        self.diagnostics = diagnostics
    }

    /// Quoted strings that follow each other with only white space between them make one
    /// string, as in Kamailio (`"a" "b"` is `"ab"`, also across lines); the joined token keeps
    /// the first one's place. A bare IPv4 address is not a quoted string and stays apart.
    static func joiningAdjacentStrings(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        out.reserveCapacity(tokens.count)
        for t in tokens {
            if t.kind == .string, !t.unquoted, let last = out.last, last.kind == .string, !last.unquoted {
                out[out.count - 1].text += t.text
            } else {
                out.append(t)
            }
        }
        return out
    }

    var current: Token { tokens[pos] }
    /// True at the end of the tokens, and once too many errors stopped the load: every loop
    /// of the parser ends on it.
    var atEnd: Bool { tokens[pos].kind == .end || diagnostics.stopped }

    func peek(_ n: Int = 1) -> Token { tokens[min(pos + n, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }

    /// Consumes `p` or records "expected" and returns false.
    @discardableResult
    mutating func expect(_ p: String, _ context: String) -> Bool {
        if current.isPunct(p) {
            advance()
            return true
        }
        error("expected '\(p)' \(context), found \(describe(current))", at: current)
        return false
    }

    mutating func error(_ message: String, at token: Token) {
        diagnostics.error(message, at: token.location)
    }

    /// Enters one nesting level (a statement, a parenthesis, an operand); false, reported,
    /// when that would go beyond `ScriptLimits.maxNesting`.
    mutating func enter(at token: Token) -> Bool {
        guard nesting < ScriptLimits.maxNesting else {
            tooDeep(at: token)
            return false
        }
        nesting += 1
        return true
    }

    mutating func leave() { nesting -= 1 }

    /// Whether an expression tree `depth` levels deep, built at the current nesting, stays
    /// within `ScriptLimits.maxNesting` with the statements around it; reported when not.
    /// (The current nesting counts the expression's own level, hence the - 1.)
    mutating func fits(_ depth: Int, at token: Token) -> Bool {
        if nesting - 1 + depth <= ScriptLimits.maxNesting { return true }
        tooDeep(at: token)
        return false
    }

    private mutating func tooDeep(at token: Token) {
        error("nesting deeper than \(ScriptLimits.maxNesting) levels", at: token)
    }

    /// A token as a message quotes it; a long one is cut, so a message stays short.
    func describe(_ t: Token) -> String {
        var text = t.text
        if text.utf8.count > 48 { text = String(text.prefix(40)) + "..." }
        switch t.kind {
        case .end: return "end of file"
        case .string: return "string \"\(text)\""
        case .directive: return "'#!\(text)'"
        default: return "'\(text)'"
        }
    }

    /// The whole file.
    mutating func parseConfig() -> ConfigSyntax {
        while !atEnd {
            let before = pos
            topLevelItem()
            if pos == before { advance() }
        }
        return config
    }

    private static let routeKeywords: [String: RouteType] = [
        "request_route": .request, "route": .subroute, "failure_route": .failure,
        "onreply_route": .onreply, "reply_route": .reply, "branch_route": .branch,
        "event_route": .event,
    ]

    private mutating func topLevelItem() {
        let t = current
        if t.isPunct(";") { advance(); return }
        guard t.kind == .identifier else {
            error("expected a core parameter, loadmodule, modparam or route block, found \(describe(t))", at: t)
            skipToNextLine()
            return
        }
        if t.text == "loadmodule" {
            advance()
            guard current.kind == .string else {
                error("loadmodule needs a quoted module name", at: current)
                skipToNextLine()
                return
            }
            config.modules.append(LoadModuleSyntax(path: advance().text, location: t.location))
        } else if t.text == "modparam" {
            modparam()
        } else if peek().isPunct("=") {
            coreParam()
        } else if peek().isPunct("."), peek(2).kind == .identifier, peek(3).isPunct("=") {
            customParam()
        } else if let type = Self.routeKeywords[t.text] {
            routeBlock(type)
        } else if ["onsend_route", "loadpath", "cfgengine"].contains(t.text) {
            error("'\(t.text)' is not supported by Respite", at: t)
            skipToNextLine()
            skipBlockIfAny()
        } else {
            error("unexpected \(describe(t)) at top level", at: t)
            skipToNextLine()
        }
    }

    private mutating func skipToNextLine() {
        advance()
        while !atEnd && !current.lineStart { advance() }
    }

    private mutating func skipBlockIfAny() {
        guard current.isPunct("{") else { return }
        var depth = 0
        repeat {
            if current.isPunct("{") { depth += 1 }
            if current.isPunct("}") { depth -= 1 }
            advance()
        } while depth > 0 && !atEnd
    }

    /// `name = value`: an integer, a string, or raw text up to the end of the line (listen
    /// addresses such as `udp:127.0.0.1:5060`, words such as `yes`).
    private mutating func coreParam() {
        let name = advance()
        advance()  // "="
        let valueToken = current
        var raw = ""
        var count = 0
        while !atEnd && !(current.lineStart && count > 0) && !current.isPunct(";") {
            let t = advance()
            if count > 0 && t.spaceBefore { raw += " " }
            raw += t.kind == .string && count > 0 && !t.unquoted ? "\"\(t.text)\"" : t.spelling
            count += 1
        }
        if current.isPunct(";") { advance() }
        let value: ConfigValue
        if count == 1 && valueToken.kind == .integer {
            value = .int(valueToken.intValue)
        } else if count == 2 && valueToken.isPunct("-") && Int(raw) != nil {
            value = .int(Int(raw)!)
        } else if count == 0 {
            error("core parameter '\(name.text)' needs a value", at: valueToken)
            return
        } else {
            value = .string(raw)
        }
        config.coreParams.append(CoreParamSyntax(name: name.text, value: value, raw: raw,
                                                 location: name.location, valueLocation: valueToken.location))
    }

    /// `group.name = value [desc "text"]`: a custom parameter, read with `@cfg_get.group.name`.
    /// Kept as a core parameter named `group.name` (no core parameter has a dot).
    private mutating func customParam() {
        let group = advance()
        advance()  // "."
        let name = advance()
        advance()  // "="
        let valueToken = current
        let value: ConfigValue
        if valueToken.kind == .integer {
            value = .int(advance().intValue)
        } else if valueToken.isPunct("-") && peek().kind == .integer {
            advance()
            value = .int(-advance().intValue)
        } else if valueToken.kind == .string {
            value = .string(advance().text)
        } else {
            error("custom parameter \(group.text).\(name.text) needs an integer or a quoted string, found \(describe(valueToken))", at: valueToken)
            skipToNextLine()
            return
        }
        if current.isIdentifier("desc") || current.isIdentifier("description") {
            advance()
            guard current.kind == .string else {
                error("desc needs a quoted description, found \(describe(current))", at: current)
                skipToNextLine()
                return
            }
            advance()
        }
        if current.isPunct(";") { advance() }
        let full = group.text + "." + name.text
        config.coreParams.append(CoreParamSyntax(name: full, value: value, raw: value.text, location: group.location,
                                                 valueLocation: valueToken.location))
    }

    private mutating func modparam() {
        let start = advance()
        guard expect("(", "after modparam") else { skipToNextLine(); return }
        let module = current
        guard module.kind == .string else { error("modparam needs a quoted module name", at: module); skipToNextLine(); return }
        advance()
        guard expect(",", "after the module name") else { skipToNextLine(); return }
        let param = current
        guard param.kind == .string else { error("modparam needs a quoted parameter name", at: param); skipToNextLine(); return }
        advance()
        guard expect(",", "after the parameter name") else { skipToNextLine(); return }
        let valueToken = current
        let value: ConfigValue
        if valueToken.kind == .string {
            value = .string(valueToken.text)
            advance()
        } else if valueToken.kind == .integer {
            value = .int(valueToken.intValue)
            advance()
        } else if valueToken.kind == .identifier, let n = Resolver.booleanWords[valueToken.text.lowercased()] {
            // Kamailio reads yes/no, on/off... as 1 and 0.
            value = .int(n)
            advance()
        } else if valueToken.isPunct("-") && peek().kind == .integer {
            advance()
            value = .int(-advance().intValue)
        } else {
            error("modparam value must be an integer or a quoted string, found \(describe(valueToken))", at: valueToken)
            skipToNextLine()
            return
        }
        guard expect(")", "to close modparam") else { skipToNextLine(); return }
        if current.isPunct(";") { advance() }
        config.modparams.append(ModParamSyntax(module: module.text, param: param.text, value: value,
                                               location: start.location, valueLocation: valueToken.location))
    }

    private mutating func routeBlock(_ declared: RouteType) {
        let keyword = advance()
        var type = declared
        var name: String?
        if current.isPunct("[") {
            advance()
            var text = ""
            var first = true
            while !atEnd && !current.isPunct("]") && !current.isPunct("{") {
                let t = advance()
                if !first && t.spaceBefore { text += " " }
                text += t.spelling
                first = false
            }
            expect("]", "to close the route name")
            name = text
            if text.isEmpty { error("empty route name", at: keyword) }
        }
        switch (declared, name) {
        case (.subroute, nil), (.subroute, "0"): type = .request; name = nil
        case (.onreply, nil): type = .reply
        case (.failure, nil), (.branch, nil), (.event, nil):
            error("\(keyword.text) needs a name in brackets", at: keyword)
        case (.request, .some), (.reply, .some):
            error("\(keyword.text) takes no name", at: keyword)
            name = nil
        default: break
        }
        guard current.isPunct("{") else {
            error("expected '{' to open \(keyword.text), found \(describe(current))", at: current)
            skipToNextLine()
            return
        }
        let body = block()
        config.routes.append(RouteSyntax(type: type, name: name, body: body, location: keyword.location))
    }
}
