#if canImport(Glibc)
import Glibc
#endif

/// The types `jansson_set` and `jansson_append` store a value as, by Kamailio's names
/// (case matters, as in Kamailio).
enum JSONType: Sendable, Equatable {
    case integer, real, string, object, array, `true`, `false`, null

    static let names = "integer (or int), real, string (or str), object (or obj), array, true, false, null"

    init?(named name: String) {
        switch name {
        case "integer", "int": self = .integer
        case "real": self = .real
        case "string", "str": self = .string
        case "object", "obj": self = .object
        case "array": self = .array
        case "true": self = .true
        case "false": self = .false
        case "null": self = .null
        default: return nil
        }
    }

    /// The value `text` gives as this type, as Kamailio reads it: an integer as `strtoll`
    /// reads a whole decimal number (blanks and a sign before it allowed, "" is 0, beyond the
    /// 64-bit range it stops at the limit), a real as `strtod` reads it (NaN and the
    /// infinities refused), an object or array as a JSON document of that kind, a string
    /// as it is; `text` is ignored for true, false and null.
    func value(from text: String) throws(JSONError) -> JSONValue {
        switch self {
        case .object, .array:
            let parsed = try JSONValue(parsing: text)
            guard parsed.ref.isObject == (self == .object) else {
                throw JSONError(description: "'\(text)' is not a JSON \(self == .object ? "object" : "array")")
            }
            return parsed
        case .string:
            return try Self.made(JSONValue.string(text), text)
        case .integer:
            let n: Int64? = text.withCString { start in
                var stop: UnsafeMutablePointer<CChar>?
                let n = strtoll(start, &stop, 10)
                return stop?.pointee == 0 ? Int64(n) : nil
            }
            guard let n else { throw JSONError(description: "'\(text)' is not an integer") }
            return try Self.made(JSONValue.integer(n), text)
        case .real:
            let d: Double? = text.withCString { start in
                var stop: UnsafeMutablePointer<CChar>?
                let d = strtod(start, &stop)
                return stop?.pointee == 0 ? d : nil
            }
            guard let d, let value = JSONValue.real(d) else { throw JSONError(description: "'\(text)' is not a real") }
            return value
        case .true:
            return try Self.made(JSONValue.boolean(true), text)
        case .false:
            return try Self.made(JSONValue.boolean(false), text)
        case .null:
            return try Self.made(JSONValue.null(), text)
        }
    }

    private static func made(_ value: consuming JSONValue?, _ text: String) throws(JSONError) -> JSONValue {
        guard let value else { throw JSONError(description: "cannot make a JSON value of '\(text)'") }
        return value
    }
}
