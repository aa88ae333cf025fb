/// Turns the text of one file into tokens. Comments are dropped here; `#!` lines become
/// directive tokens for the preprocessor; pseudo-variables become one token each, their inner
/// structure is parsed later by `VariableParser`.
struct Lexer {
    private let chars: [UInt8]
    private var pos = 0
    private var line: Int
    private var column: Int
    private let file: String
    private var sawSpace = false
    private var sawNewline = true
    private(set) var diagnostics = Diagnostics()

    init(text: String, file: String, line: Int = 1, column: Int = 1) {
        self.chars = Array(text.utf8)
        self.file = file
        self.line = line
        self.column = column
    }

    /// Every token of the text, ending with one `.end` token.
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let t = next()
            tokens.append(t)
            if t.kind == .end { return tokens }
        }
    }

    private var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        pos + offset < chars.count ? chars[pos + offset] : nil
    }

    private mutating func bump() {
        if chars[pos] == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if chars[pos] & 0xC0 != 0x80 {
            // Columns count characters, not the continuation bytes of UTF-8.
            column += 1
        }
        pos += 1
    }

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: chars[from..<to], as: UTF8.self)
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == UInt8(ascii: "\n") {
                sawNewline = true
                sawSpace = true
                bump()
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                sawSpace = true
                bump()
            } else if c == UInt8(ascii: "#") && !(peek(1) == UInt8(ascii: "!") && sawNewline) {
                skipLine()
            } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                skipLine()
            } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                let start = here
                bump(); bump()
                var closed = false
                while let d = peek() {
                    if d == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
                        bump(); bump()
                        closed = true
                        break
                    }
                    bump()
                }
                if !closed { diagnostics.error("unterminated comment", at: start) }
                sawSpace = true
            } else {
                return
            }
        }
    }

    private mutating func skipLine() {
        while let c = peek(), c != UInt8(ascii: "\n") { bump() }
        sawSpace = true
    }

    private mutating func next() -> Token {
        skipTrivia()
        let start = here
        var token = Token(kind: .end, text: "", location: start)
        token.spaceBefore = sawSpace
        token.lineStart = sawNewline
        sawSpace = false
        sawNewline = false
        guard let c = peek() else { return token }
        if c == UInt8(ascii: "#") {
            lexDirective(into: &token)
        } else if isIdentStart(c) {
            let s = pos
            while let d = peek(), isIdentChar(d) { bump() }
            token.kind = .identifier
            token.text = text(s, pos)
        } else if isDigit(c) {
            lexNumber(into: &token)
        } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            lexString(quote: c, into: &token)
        } else if c == UInt8(ascii: "$") {
            lexVariable(into: &token)
        } else {
            lexPunct(into: &token)
        }
        return token
    }

    private mutating func lexDirective(into token: inout Token) {
        bump(); bump()  // "#!"
        let s = pos
        while let d = peek(), isIdentChar(d) { bump() }
        token.kind = .directive
        token.text = text(s, pos)
        while let d = peek(), d == UInt8(ascii: " ") || d == UInt8(ascii: "\t") { bump() }
        token.argumentLocation = here
        let a = pos
        while let d = peek(), d != UInt8(ascii: "\n") { bump() }
        var arg = text(a, pos)
        while arg.last == " " || arg.last == "\t" || arg.last == "\r" { arg.removeLast() }
        token.argument = arg
    }

    private mutating func lexNumber(into token: inout Token) {
        let s = pos
        token.kind = .integer
        if peek() == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
            bump(); bump()
            let h = pos
            while let d = peek(), isHex(d) { bump() }
            token.text = text(s, pos)
            token.intValue = Int(text(h, pos), radix: 16) ?? 0
            if h == pos { diagnostics.error("malformed hexadecimal number", at: token.location) }
            return
        }
        while let d = peek(), isDigit(d) { bump() }
        if let end = dottedQuadEnd() {
            // An IPv4 address written bare (`src_ip != 127.0.0.1`): a string, as Kamailio reads it.
            while pos < end { bump() }
            token.kind = .string
            token.unquoted = true
            token.text = text(s, pos)
            return
        }
        token.text = text(s, pos)
        // A leading zero makes an octal number, as in Kamailio (`modparam("ctl", "mode", 0600)`).
        if token.text.count > 1, token.text.hasPrefix("0"), let v = Int(token.text.dropFirst(), radix: 8) {
            token.intValue = v
        } else if let v = Int(token.text) {
            token.intValue = v
        } else {
            diagnostics.error("integer '\(token.text)' is out of range", at: token.location)
        }
    }

    /// Where a dotted quad that started at the digits just read ends (`.d.d.d` follows),
    /// or nil: only then is a number an IPv4 address.
    private func dottedQuadEnd() -> Int? {
        var i = 0
        for _ in 0..<3 {
            guard peek(i) == UInt8(ascii: "."), let d = peek(i + 1), isDigit(d) else { return nil }
            i += 1
            while let d = peek(i), isDigit(d) { i += 1 }
        }
        if let d = peek(i), isIdentChar(d) || d == UInt8(ascii: ".") { return nil }
        return pos + i
    }

    private mutating func lexString(quote: UInt8, into token: inout Token) {
        bump()
        var bytes: [UInt8] = []
        var closed = false
        while let d = peek() {
            if d == quote { bump(); closed = true; break }
            // A string may go on over several lines, newlines included, as in Kamailio; a
            // missing quote is reported where the string started.
            if d == UInt8(ascii: "\\"), let e = peek(1) {
                bump(); bump()
                switch e {
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "r"): bytes.append(13)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): bytes.append(e)
                case UInt8(ascii: "\n"): break  // a backslash-newline joins the lines
                default:
                    // Kamailio keeps an unknown escape as written, backslash included.
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(e)
                }
                continue
            }
            bytes.append(d)
            bump()
        }
        if !closed { diagnostics.error("unterminated string", at: token.location) }
        token.kind = .string
        token.text = String(decoding: bytes, as: UTF8.self)
    }

    /// `$name`, `$name(inner)`, `$name(inner)[index]`, `$(...)`: parentheses and brackets are
    /// balanced so inner names may hold other variables (`$sht(t=>$ci)`).
    private mutating func lexVariable(into token: inout Token) {
        let s = pos
        bump()
        token.kind = .variable
        if peek() == UInt8(ascii: "(") {
            skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), start: token.location)
        } else {
            while let d = peek(), isIdentChar(d) { bump() }
            if peek() == UInt8(ascii: "(") {
                skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), start: token.location)
            }
            if peek() == UInt8(ascii: "[") {
                skipBalanced(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), start: token.location)
            }
        }
        token.text = text(s, pos)
    }

    private mutating func skipBalanced(open: UInt8, close: UInt8, start: SourceLocation) {
        var depth = 0
        while let d = peek() {
            if d == UInt8(ascii: "\n") { break }
            bump()
            if d == open { depth += 1 }
            if d == close { depth -= 1; if depth == 0 { return } }
        }
        diagnostics.error("unbalanced '\(Character(UnicodeScalar(open)))' in variable", at: start)
    }

    private static let twoCharOps: Set<String> = [
        "==", "!=", "<=", ">=", "=~", "!~", "&&", "||", "+=", ":=", "-=", "=>",
    ]

    private mutating func lexPunct(into token: inout Token) {
        token.kind = .punct
        if let c2 = peek(1) {
            let pair = text(pos, pos + 1) + String(UnicodeScalar(c2))
            if Self.twoCharOps.contains(pair) {
                bump(); bump()
                token.text = pair
                return
            }
        }
        let s = pos
        bump()
        while pos < chars.count, chars[pos] & 0xC0 == 0x80 { pos += 1 }
        token.text = text(s, pos)
    }

    private func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == UInt8(ascii: "_")
    }
    private func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
    }
}
