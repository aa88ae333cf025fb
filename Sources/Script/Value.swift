/// A script value, as Kamailio has them: an integer, a string, or null.
public enum Value: Sendable, Equatable, CustomStringConvertible {
    case null
    case int(Int)
    case string(String)

    /// The text a value prints as: integers in decimal, null as `<null>` (as xlog shows it).
    public var description: String {
        switch self {
        case .null: return "<null>"
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }

    /// The string form used in concatenation and string comparison; null is empty.
    public var stringValue: String {
        switch self {
        case .null: return ""
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }

    /// The integer form: a string converts when it is a whole decimal number (surrounding
    /// blanks allowed); otherwise `nil`, as Kamailio's `str2sint` fails.
    public var intValue: Int? {
        switch self {
        case .null: return nil
        case .int(let i): return i
        case .string(let s): return Value.parseInt(s)
        }
    }

    /// The integer form for arithmetic: what cannot convert counts as 0.
    var arithmetic: Int { intValue ?? 0 }

    /// Truth in a condition: a positive integer, a non-empty string.
    public var isTrue: Bool {
        switch self {
        case .null: return false
        case .int(let i): return i > 0
        case .string(let s): return !s.isEmpty
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    static func parseInt(_ s: String) -> Int? {
        var t = Substring(s)
        while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\r" || l == "\n" { t.removeLast() }
        if t.first == "+" { t.removeFirst() }
        return Int(t)
    }
}
