import SIP

/// textopsx's header-value selector, `name[index].param`: which values of which header a
/// function works on. Values are counted across every field of that name, top first; the
/// plain functions split a field at its commas, the `...2` ones take each field whole
/// (Authorization-like headers). Parsed at load time (Kamailio parses it then too).
struct HeaderValueSelector: Sendable, Equatable {
    enum Index: Sendable, Equatable {
        /// No index (or `[0]`): the first value, or for append/insert a new header.
        case unspecified
        /// 1 is the first value, -1 the last.
        case position(Int)
        /// `[*]`: every value.
        case all
    }

    var name: String
    var index: Index
    var param: String?

    /// Parses `text`; the error says what is wrong and where.
    static func parse(_ text: String) -> Result<HeaderValueSelector, SelectorError> {
        var rest = Substring(text.trimmingCharacters(in: " \t"))
        let nameEnd = rest.firstIndex { $0 == "[" || $0 == "." } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
            return .failure(SelectorError("'\(text)' does not start with a header name"))
        }
        rest = rest[nameEnd...]
        var index = Index.unspecified
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return .failure(SelectorError("no ']' in '\(text)'")) }
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            if inside == "*" {
                index = .all
            } else if let n = Int(inside) {
                index = n == 0 ? .unspecified : .position(n)
            } else {
                return .failure(SelectorError("cannot parse the index of '\(text)' near '\(rest.dropFirst())'"))
            }
            rest = rest[rest.index(after: close)...]
        }
        var param: String?
        if rest.first == "." {
            let p = String(rest.dropFirst())
            guard !p.isEmpty, p.utf8.allSatisfy(isTokenByte) else {
                return .failure(SelectorError("cannot parse the parameter of '\(text)' near '\(rest)'"))
            }
            param = p
            rest = rest[rest.endIndex...]
        }
        guard rest.isEmpty else { return .failure(SelectorError("cannot parse '\(text)' near '\(rest)'")) }
        return .success(HeaderValueSelector(name: name, index: index, param: param))
    }

    struct SelectorError: Error, Sendable {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// RFC 3261's token characters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("-.!%*_+`'~".utf8).contains(b)
        }
    }

    /// The selected entries of `values`: the first for no index, the n-th (from the end when
    /// negative), or all; empty when the index is out of range.
    func pick(_ values: [HeaderValues.Value]) -> [HeaderValues.Value] {
        switch index {
        case .unspecified: return Array(values.prefix(1))
        case .all: return values
        case .position(let n):
            let i = n > 0 ? n - 1 : values.count + n
            return values.indices.contains(i) ? [values[i]] : []
        }
    }
}

/// The values of one header in a message, with the byte ranges the edits need. A value's
/// range is trimmed of white space and includes its parameters.
struct HeaderValues {
    struct Value: Equatable {
        /// Which field it is in (index into `fields`), and where within that field.
        var field: Int
        var position: Int
        var range: Range<Int>
    }

    /// One `;name[=value]` parameter of a value: from its ';' to its end.
    struct Param {
        var name: String
        var range: Range<Int>
    }

    let message: SIPMessage
    let fields: [HeaderField]
    let values: [Value]
    /// How many values each field holds.
    let counts: [Int]

    /// `split`: a field holds a comma-separated list; otherwise each field is one value.
    init(_ name: String, in message: SIPMessage, split: Bool) {
        self.message = message
        fields = message.fields(named: name)
        var values: [Value] = []
        var counts: [Int] = []
        for (f, field) in fields.enumerated() {
            let ranges = split ? message.listElements(field.valueRange) : (field.valueRange.isEmpty ? [] : [field.valueRange])
            for (p, r) in ranges.enumerated() { values.append(Value(field: f, position: p, range: r)) }
            counts.append(ranges.count)
        }
        self.values = values
        self.counts = counts
    }

    func text(_ v: Value) -> String { message.text(v.range) }

    /// The value before `v` in its field (nil for the first).
    func previous(_ v: Value) -> Value? {
        v.position == 0 ? nil : values.first { $0.field == v.field && $0.position == v.position - 1 }
    }

    /// The splice that removes `v` from its list: the whole field when it is its only
    /// value; the first value with its comma; any other with the comma before it.
    func removal(_ v: Value) -> ScriptEdits.Splice {
        if counts[v.field] <= 1 { return ScriptEdits.Splice(range: fields[v.field].lineRange, text: "") }
        if let prev = previous(v) { return ScriptEdits.Splice(range: prev.range.upperBound..<v.range.upperBound, text: "") }
        var end = v.range.upperBound
        let bytes = message.bytes
        while end < fields[v.field].valueRange.upperBound && bytes[end] != UInt8(ascii: ",") { end += 1 }
        return ScriptEdits.Splice(range: v.range.lowerBound..<min(end + 1, fields[v.field].valueRange.upperBound), text: "")
    }

    /// The parameters of a value, outside quoted strings and angle brackets.
    func params(_ v: Value) -> [Param] {
        let bytes = message.bytes
        var starts: [Int] = []
        var quoted = false, angle = false
        var i = v.range.lowerBound
        while i < v.range.upperBound {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { quoted = false }
            } else if b == UInt8(ascii: "\"") {
                quoted = true
            } else if b == UInt8(ascii: "<") {
                angle = true
            } else if b == UInt8(ascii: ">") {
                angle = false
            } else if b == UInt8(ascii: ";") && !angle {
                starts.append(i)
            }
            i += 1
        }
        return starts.enumerated().map { n, start in
            var end = n + 1 < starts.count ? starts[n + 1] : v.range.upperBound
            while end > start + 1 && (bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t")) { end -= 1 }
            let body = message.text((start + 1)..<end)
            let name = body.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: " \t") } ?? ""
            return Param(name: name, range: start..<end)
        }
    }

    /// The parameter `name` of `v` (case-insensitive), if it has it.
    func param(_ name: String, of v: Value) -> Param? {
        params(v).first { $0.name.caseInsensitiveEquals(name) }
    }
}
