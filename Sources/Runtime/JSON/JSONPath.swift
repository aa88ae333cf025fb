#if canImport(Glibc)
import Glibc
#endif

/// A path into a JSON document, in the syntax of Kamailio's jansson module: member names
/// separated by dots (`inner.deep`), array indexes in brackets (`list[3]`, `[0][1].name`).
/// Parsing is the same for reading (`jansson_get`) and writing (`jansson_set`); where the
/// two treat a path differently, `JSONRef+Path.swift` says so.
///
/// The details follow Kamailio 5.6.3, checked against it:
/// - A member name runs up to the next `.` or `[`; it may be empty (`a..b` reads the
///   member `""` of `a`), and may hold anything else, `]` and blanks included.
/// - An index is read as C's `strtol` with base 0 reads it: `[0x1]` is 1, `[010]` is 8,
///   `[ 1]` is 1 but `[1 ]` is malformed, `[]` is 0. A negative index reaches nothing.
/// - A path that ends with `.` or `[` (after a name or an index) ends with an empty name:
///   `a.` and `a[` read `a`. The empty path is the whole document.
/// - After `]` comes `.`, `[` or the end. Other text there is an error when a `.` or `[`
///   follows it; at the very end (`a[0]x`) reading fails but writing ignores it.
struct JSONPath: Sendable, Equatable {
    /// A step taken before the last part of the path.
    enum Step: Sendable, Equatable {
        /// A member of an object. `thenMember`: a `.` follows (not a `[`), so writing may
        /// create the member as an empty object when it is missing.
        case member(String, thenMember: Bool)
        /// An element of an array; nil for an index no array has (a negative one).
        case element(Int?)
    }

    /// How the path ends.
    enum End: Sendable, Equatable {
        /// With a member name, empty when the path ends with `.` or `[` (or is empty).
        case member(String)
        /// With an index: the last step is the element.
        case element
    }

    enum Malformed: Error, Equatable {
        /// `[` without its `]`.
        case unclosedIndex
        /// What is between the brackets is not a whole integer.
        case badIndex(String)
        /// Text between `]` and the next `.` or `[`.
        case textAfterIndex
    }

    var steps: [Step] = []
    var end: End = .member("")
    /// Text after the last `]` with no `.` or `[` after it (`a[0]x`).
    var trailingText = false

    init(_ text: String) throws(Malformed) {
        let bytes = Array(text.utf8)
        var pos = 0
        var inIndex = bytes.first == UInt8(ascii: "[")
        if inIndex { pos = 1 }
        while true {
            if !inIndex {
                guard let d = bytes[pos...].firstIndex(where: Self.isDelimiter) else {
                    end = .member(String(decoding: bytes[pos...], as: UTF8.self))
                    return
                }
                let name = String(decoding: bytes[pos..<d], as: UTF8.self)
                let dot = bytes[d] == UInt8(ascii: ".")
                steps.append(.member(name, thenMember: dot))
                pos = d + 1
                if dot { continue }
                // `a[` at the end: an empty name, as a trailing dot.
                if pos == bytes.count { return }
                inIndex = true
                continue
            }
            guard let close = bytes[pos...].firstIndex(of: UInt8(ascii: "]")) else { throw .unclosedIndex }
            let token = String(decoding: bytes[pos..<close], as: UTF8.self)
            guard let index = Self.index(token) else { throw .badIndex(token) }
            steps.append(.element(index < 0 ? nil : index))
            pos = close + 1
            guard pos < bytes.count else {
                end = .element
                return
            }
            switch bytes[pos] {
            case UInt8(ascii: "."):
                pos += 1
                inIndex = false
            case UInt8(ascii: "["):
                pos += 1
                if pos == bytes.count { return }
            default:
                if bytes[pos...].contains(where: Self.isDelimiter) {
                    throw .textAfterIndex
                }
                trailingText = true
                end = .element
                return
            }
        }
    }

    /// What ends a member name.
    static func isDelimiter(_ byte: UInt8) -> Bool { byte == UInt8(ascii: ".") || byte == UInt8(ascii: "[") }

    /// `strtol(token, &end, 0)` with nothing left after the number; nil otherwise.
    static func index(_ token: String) -> Int? {
        token.withCString { start in
            var stop: UnsafeMutablePointer<CChar>?
            let n = strtol(start, &stop, 0)
            return stop?.pointee == 0 ? n : nil
        }
    }
}

extension JSONPath.Malformed: CustomStringConvertible {
    var description: String {
        switch self {
        case .unclosedIndex: return "'[' without ']'"
        case .badIndex(let t): return "array index '\(t)' is not an integer"
        case .textAfterIndex: return "text after ']' where '.' or '[' must follow"
        }
    }
}
