import CShared
#if canImport(Glibc)
import Glibc
#endif

/// A value of a shared variable (`$shv`) or a hash-table item (`$sht`): what a script
/// reads and writes. `.null` is `$null`; setting an `$sht` item to `.null` deletes it.
public enum SharedValue: Equatable, Hashable, Sendable, CustomStringConvertible {
    case null
    case int(Int)
    case string(String)

    /// As a script would print it: `$null`, `42`, `"text"`.
    public var description: String {
        switch self {
        case .null: return "$null"
        case .int(let v): return String(v)
        case .string(let s): return "\"\(s)\""
        }
    }

    /// Rebuilds a value copied out of the arena (`bytes` holds a string's bytes).
    init(_ value: cs_value, bytes: UnsafeRawBufferPointer) {
        switch value.type {
        case UInt32(CS_VALUE_INT.rawValue): self = .int(Int(value.int_value))
        case UInt32(CS_VALUE_STRING.rawValue):
            self = .string(String(decoding: bytes.prefix(Int(value.str_len)), as: UTF8.self))
        default: self = .null
        }
    }

    /// Copies a value out through `read`, which fills a `cs_value` and a byte buffer and
    /// answers ERANGE when the buffer is too small; retries with the size it reported.
    static func copyOut(_ read: (UnsafeMutablePointer<cs_value>, UnsafeMutablePointer<CChar>, Int) -> Int32) -> SharedValue {
        var capacity = 256
        while true {
            var value = cs_value()
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
            defer { buffer.deallocate() }
            let rc = read(&value, buffer, capacity)
            if rc == ERANGE {
                // The string grew between tries only if another process replaced it.
                capacity = max(Int(value.str_len), capacity * 2)
                continue
            }
            if rc != 0 { return .null }
            return SharedValue(value, bytes: UnsafeRawBufferPointer(start: buffer, count: Int(value.str_len)))
        }
    }
}

/// A `modparam` value that does not parse: which spec and why, for a load-time
/// diagnostic.
public struct SpecError: Error, Equatable, CustomStringConvertible {
    public var spec: String
    public var message: String

    public init(spec: String, _ message: String) {
        self.spec = spec
        self.message = message
    }

    public var description: String { "'\(spec)': \(message)" }
}

/// One `modparam("pv", "shvset", "name=i:1")` or `"name=s:text"`: a shared variable
/// and its initial value.
public struct ShvsetSpec: Equatable, Sendable {
    public var name: String
    public var value: SharedValue

    public init(name: String, value: SharedValue) {
        self.name = name
        self.value = value
    }

    /// Longest name a slot holds (bytes).
    public static let maxNameBytes = Int(CS_SHV_NAME_MAX) - 1

    /// Parses `name=i:<integer>` or `name=s:<text>` (the text may contain `:` and `=`;
    /// spaces around the name and an integer are ignored, a text is taken as written).
    public static func parse(_ spec: String) throws(SpecError) -> ShvsetSpec {
        guard let eq = spec.firstIndex(of: "=") else {
            throw SpecError(spec: spec, "expected name=i:<integer> or name=s:<text>")
        }
        let name = spec[..<eq].trimmingSpaces
        try checkName(name, spec: spec, what: "shared variable")
        let rest = spec[spec.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
        if rest.hasPrefix("i:") {
            let digits = rest.dropFirst(2).trimmingSpaces
            guard let v = Int(digits) else {
                throw SpecError(spec: spec, "'\(digits)' is not an integer")
            }
            return ShvsetSpec(name: name, value: .int(v))
        }
        if rest.hasPrefix("s:") {
            return ShvsetSpec(name: name, value: .string(String(rest.dropFirst(2))))
        }
        throw SpecError(spec: spec, "the value must start with i: (integer) or s: (string)")
    }

    static func checkName(_ name: String, spec: String, what: String) throws(SpecError) {
        if name.isEmpty { throw SpecError(spec: spec, "empty \(what) name") }
        if name.utf8.count > maxNameBytes {
            throw SpecError(spec: spec, "\(what) name '\(name)' is longer than \(maxNameBytes) bytes")
        }
        if name.contains(where: { $0 == " " || $0 == "\t" || $0 == ")" || $0 == "(" }) {
            throw SpecError(spec: spec, "\(what) name '\(name)' contains spaces or parentheses")
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Runs `body` with the UTF-8 bytes of `s` (no NUL needed by the C side).
@inline(__always)
func withBytes<R>(_ s: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
    var s = s
    return s.withUTF8 { utf8 in
        utf8.withMemoryRebound(to: CChar.self) { chars in
            // An empty string may have no base address; C only reads `count` bytes.
            var empty: CChar = 0
            guard let base = chars.baseAddress else { return body(&empty, 0) }
            return body(base, chars.count)
        }
    }
}
