/// A `{s.*}` transformation with its parameters parsed at load time.
enum Transformation: Sendable {
    case toInt
    case length
    case lower
    case upper
    case substr(offset: Int, length: Int)
    case strip(Int)
    case select(index: Int, separator: UInt8)
    case md5

    /// Parses one transformation; nil and a message when the name or parameters are wrong.
    static func make(_ t: TransformSyntax) -> (Transformation?, String?) {
        func ints(_ n: Int) -> [Int]? {
            guard t.params.count == n else { return nil }
            let v = t.params.compactMap { Int($0) }
            return v.count == n ? v : nil
        }
        switch t.name {
        case "s.int": return t.params.isEmpty ? (.toInt, nil) : (nil, "{s.int} takes no parameters")
        case "s.len": return t.params.isEmpty ? (.length, nil) : (nil, "{s.len} takes no parameters")
        case "s.tolower": return (.lower, nil)
        case "s.toupper": return (.upper, nil)
        case "s.md5": return (.md5, nil)
        case "s.substr":
            guard let v = ints(2) else { return (nil, "{s.substr,offset,length} needs two integers") }
            return (.substr(offset: v[0], length: v[1]), nil)
        case "s.strip":
            guard let v = ints(1) else { return (nil, "{s.strip,n} needs one integer") }
            return (.strip(v[0]), nil)
        case "s.select":
            guard t.params.count == 2, let i = Int(t.params[0]), t.params[1].utf8.count == 1 else {
                return (nil, "{s.select,index,separator} needs an integer and one character")
            }
            return (.select(index: i, separator: t.params[1].utf8.first!), nil)
        default:
            if t.params.contains(where: { $0.hasPrefix("$") }) {
                return (nil, "transformation {\(t.name)} with variable parameters is not supported by Respite")
            }
            return (nil, "unknown transformation {\(t.name)}")
        }
    }

    /// Applies the transformation. Byte offsets, as Kamailio counts them.
    func apply(_ v: Value) -> Value {
        switch self {
        case .toInt:
            if case .int = v { return v }
            return .int(Self.leadingInt(v.stringValue))
        case .length:
            return .int(v.stringValue.utf8.count)
        case .lower:
            return .string(String(decoding: v.stringValue.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self))
        case .upper:
            return .string(String(decoding: v.stringValue.utf8.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self))
        case .substr(let offset, let length):
            let bytes = Array(v.stringValue.utf8)
            var start = offset < 0 ? bytes.count + offset : offset
            start = max(0, min(start, bytes.count))
            // Length 0 means "to the end"; a negative length stops that many bytes before it.
            var end = length > 0 ? start + length : (length == 0 ? bytes.count : bytes.count + length)
            end = max(start, min(end, bytes.count))
            return .string(String(decoding: bytes[start..<end], as: UTF8.self))
        case .strip(let n):
            let bytes = Array(v.stringValue.utf8)
            let k = min(abs(n), bytes.count)
            let kept = n >= 0 ? bytes[k...] : bytes[..<(bytes.count - k)]
            return .string(String(decoding: kept, as: UTF8.self))
        case .select(let index, let separator):
            let fields = v.stringValue.utf8.split(separator: separator, omittingEmptySubsequences: false)
            let i = index < 0 ? fields.count + index : index
            guard i >= 0 && i < fields.count else { return .null }
            return .string(String(decoding: fields[i], as: UTF8.self))
        case .md5:
            return .string(MD5.hex(Array(v.stringValue.utf8)))
        }
    }

    /// The integer at the start of the string (`"12abc"` -> 12); 0 when there is none.
    static func leadingInt(_ s: String) -> Int {
        var sign = 1
        var n = 0
        var started = false
        for (i, c) in s.utf8.enumerated() {
            if i == 0 && (c == UInt8(ascii: "-") || c == UInt8(ascii: "+")) {
                sign = c == UInt8(ascii: "-") ? -1 : 1
                continue
            }
            guard c >= 48 && c <= 57 else { break }
            started = true
            n = n &* 10 &+ Int(c - 48)
        }
        return started ? sign * n : 0
    }
}
