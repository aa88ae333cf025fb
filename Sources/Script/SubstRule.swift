#if canImport(Glibc)
import Glibc
#endif

/// One `#!subst "/regex/replacement/flags"` rule: a POSIX extended regular expression and a
/// replacement that may name groups (`\1`); flag `i` ignores case, `g` replaces every match
/// instead of the first. Any character may stand for `/`. Made by the preprocessor, which
/// applies the rules in order to every quoted string after them.
final class SubstRule: @unchecked Sendable {
    private var regex = regex_t()
    let pattern: String
    let replacement: String
    let global: Bool

    /// Parses `/regex/replacement/flags`; nil and a message when it is malformed or the
    /// regex does not compile.
    static func parse(_ text: String, error: inout String) -> SubstRule? {
        let chars = Array(text)
        guard let delimiter = chars.first, chars.count >= 3 else {
            error = "expected /regex/replacement/flags (any character may stand for /)"
            return nil
        }
        var parts: [String] = [""]
        var i = 1
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == delimiter {
                parts[parts.count - 1].append(delimiter)
                i += 2
                continue
            }
            if c == delimiter, parts.count < 3 {
                parts.append("")
            } else {
                parts[parts.count - 1].append(c)
            }
            i += 1
        }
        guard parts.count == 3, !parts[0].isEmpty else {
            error = "expected /regex/replacement/flags (any character may stand for /)"
            return nil
        }
        var ignoreCase = false, global = false
        for f in parts[2] {
            switch f {
            case "i": ignoreCase = true
            case "g": global = true
            case "s": break
            default:
                error = "unknown flag '\(f)' (i, g, s)"
                return nil
            }
        }
        return SubstRule(pattern: parts[0], replacement: parts[1], ignoreCase: ignoreCase, global: global, error: &error)
    }

    private init?(pattern: String, replacement: String, ignoreCase: Bool, global: Bool, error: inout String) {
        self.pattern = pattern
        self.replacement = replacement
        self.global = global
        let rc = regcomp(&regex, pattern, REG_EXTENDED | (ignoreCase ? REG_ICASE : 0))
        if rc != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(rc, &regex, &buffer, buffer.count)
            error = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            regfree(&regex)
            return nil
        }
    }

    deinit { regfree(&regex) }

    /// `text` with the first match (every match with `g`) replaced.
    func apply(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var start = 0
        var matches = [regmatch_t](repeating: regmatch_t(), count: 10)
        let cstring = bytes.map { CChar(bitPattern: $0) } + [0]
        while start <= bytes.count {
            let rc = cstring.withUnsafeBufferPointer { buffer in
                regexec(&regex, buffer.baseAddress! + start, 10, &matches, start > 0 ? REG_NOTBOL : 0)
            }
            guard rc == 0 else { break }
            let from = start + Int(matches[0].rm_so), to = start + Int(matches[0].rm_eo)
            out += bytes[start..<from]
            out += expand(bytes, matches, base: start)
            if to == from {
                // An empty match: keep one character and go on after it.
                if from < bytes.count { out.append(bytes[from]) }
                start = from + 1
            } else {
                start = to
            }
            if !global { break }
        }
        if start < bytes.count { out += bytes[start...] }
        return String(decoding: out, as: UTF8.self)
    }

    /// The replacement with `\0`..`\9` filled in from the match (`\\` is a backslash).
    private func expand(_ bytes: [UInt8], _ m: [regmatch_t], base: Int) -> [UInt8] {
        var out: [UInt8] = []
        let r = Array(replacement.utf8)
        var i = 0
        while i < r.count {
            if r[i] == UInt8(ascii: "\\"), i + 1 < r.count {
                let n = r[i + 1]
                if n >= UInt8(ascii: "0") && n <= UInt8(ascii: "9") {
                    let g = m[Int(n - UInt8(ascii: "0"))]
                    if g.rm_so >= 0 { out += bytes[(base + Int(g.rm_so))..<(base + Int(g.rm_eo))] }
                    i += 2
                    continue
                }
                out.append(n)
                i += 2
                continue
            }
            out.append(r[i])
            i += 1
        }
        return out
    }
}
