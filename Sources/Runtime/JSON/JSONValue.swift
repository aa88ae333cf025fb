import CJansson
import Script
#if canImport(Glibc)
import Glibc
#endif

/// Why a JSON text was refused: libjansson's message and where it stopped.
struct JSONError: Error, CustomStringConvertible {
    var description: String
}

/// A JSON value made by libjansson, owned: it holds one reference and drops it when it goes.
/// Values inside it are reached through `ref` (a `JSONRef`, valid while this lives). Private
/// to the process that made it; nothing of it goes to the arena.
struct JSONValue: ~Copyable {
    private let raw: UnsafeMutablePointer<json_t>

    /// Takes over a reference the caller owns (what libjansson's constructors return).
    private init(owning raw: UnsafeMutablePointer<json_t>) {
        self.raw = raw
    }

    deinit { json_decref(raw) }

    /// Parses a document as Kamailio's jansson module does: the top level must be an object
    /// or an array, and a key twice in one object is an error.
    init(parsing text: String) throws(JSONError) {
        var error = json_error_t()
        let parsed = text.withCString { json_loads($0, Int(JSON_REJECT_DUPLICATES), &error) }
        guard let parsed else {
            let message = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw JSONError(description: "line \(error.line) column \(error.column): \(message)")
        }
        self.init(owning: parsed)
    }

    /// A string of exactly these bytes.
    static func string(_ s: String) -> JSONValue? {
        var s = s
        return s.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { json_stringn($0.baseAddress, $0.count) }
        }.map { JSONValue(owning: $0) }
    }

    static func integer(_ i: Int64) -> JSONValue? { json_integer(json_int_t(i)).map { JSONValue(owning: $0) } }

    /// A real; nil for NaN and the infinities, which JSON cannot write.
    static func real(_ d: Double) -> JSONValue? { json_real(d).map { JSONValue(owning: $0) } }

    static func boolean(_ b: Bool) -> JSONValue? { (b ? json_true() : json_false()).map { JSONValue(owning: $0) } }

    static func null() -> JSONValue? { json_null().map { JSONValue(owning: $0) } }

    static func object() -> JSONValue? { json_object().map { JSONValue(owning: $0) } }

    /// The value itself, to read or change what is inside it while `self` lives.
    var ref: JSONRef { JSONRef(raw) }
}

/// A value inside a `JSONValue` (or the value itself), borrowed: valid while that value
/// lives and the member or element holding it is not replaced. Changes through it change
/// the owning value; a value stored through it is shared (libjansson counts the reference).
struct JSONRef {
    let raw: UnsafeMutablePointer<json_t>

    init(_ raw: UnsafeMutablePointer<json_t>) {
        self.raw = raw
    }

    var type: json_type { cj_type(raw) }
    var isObject: Bool { type == JSON_OBJECT }
    var isArray: Bool { type == JSON_ARRAY }

    /// How JSON text is written.
    enum Style {
        /// No blanks, keys in their order (what the module stores in a variable).
        case compact
        /// libjansson's default: `{"a": 1, "b": [1, 2]}` (what `jansson_xencode` stores).
        case spaced
    }

    /// The value as JSON text; "" if libjansson cannot write it (out of memory).
    func text(_ style: Style) -> String {
        let flags = style == .compact ? JSON_COMPACT | JSON_PRESERVE_ORDER : 0
        guard let dumped = json_dumps(raw, Int(flags)) else { return "" }
        defer { free(dumped) }
        return String(cString: dumped)
    }

    /// The value as the script gets it, as Kamailio 5.6.3 gives it: a string without its
    /// quotes, an object or array as compact JSON text, true and false as 1 and 0, an integer
    /// as an integer when it fits 32 bits (Kamailio's integers) and as its decimal text
    /// otherwise, a real as text (`%.15g`), null as null.
    var scriptValue: Value {
        switch type {
        case JSON_OBJECT, JSON_ARRAY:
            return .string(text(.compact))
        case JSON_STRING:
            return .string(json_string_value(raw).map { String(cString: $0) } ?? "")
        case JSON_TRUE:
            return .int(1)
        case JSON_FALSE:
            return .int(0)
        case JSON_INTEGER:
            let n = json_integer_value(raw)
            return Int64(Int32.min)...Int64(Int32.max) ~= Int64(n) ? .int(Int(n)) : .string(String(n))
        case JSON_REAL:
            return .string(withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
                _ = cj_format_real(buffer.baseAddress, buffer.count, json_real_value(raw))
                return String(cString: buffer.baseAddress!)
            })
        default:
            return .null
        }
    }

    // MARK: reading

    /// The member `key` of an object; nil when missing or when this is not an object.
    func member(_ key: String) -> JSONRef? {
        key.withCString { json_object_get(raw, $0) }.map(JSONRef.init)
    }

    /// The element at `index` of an array; nil when out of range (or nil), or when this is
    /// not an array.
    func element(_ index: Int?) -> JSONRef? {
        guard let index, index >= 0 else { return nil }
        return json_array_get(raw, index).map(JSONRef.init)
    }

    /// The number of elements of an array (0 for anything else).
    var count: Int { json_array_size(raw) }

    /// An object's members in their order.
    var members: [(key: String, value: JSONRef)] {
        var out: [(String, JSONRef)] = []
        var iterator = json_object_iter(raw)
        while let it = iterator, let key = json_object_iter_key(it), let value = json_object_iter_value(it) {
            out.append((String(cString: key), JSONRef(value)))
            iterator = json_object_iter_next(raw, it)
        }
        return out
    }

    // MARK: changing (each returns false when libjansson refused)

    /// Sets the member `key` of an object (replacing one of that name in its place).
    func setMember(_ key: String, _ value: borrowing JSONValue) -> Bool {
        key.withCString { json_object_set(raw, $0, value.ref.raw) } == 0
    }

    /// Replaces the element at `index` of an array.
    func setElement(_ index: Int, _ value: borrowing JSONValue) -> Bool {
        json_array_set(raw, index, value.ref.raw) == 0
    }

    /// Adds an element at the end of an array.
    func append(_ value: borrowing JSONValue) -> Bool {
        json_array_append(raw, value.ref.raw) == 0
    }

    /// Sets every member of `object` in this object (existing keys keep their place).
    func update(with object: borrowing JSONValue) -> Bool {
        json_object_update(raw, object.ref.raw) == 0
    }
}
