// Internal byte-level helpers shared by every parser in this target.
//
// All parsing works on an `UnsafeBufferPointer<UInt8>` borrowed from the message's
// `[UInt8]` for the duration of one call. Indices are always checked against an `end`
// that is itself at most `count`, so no read leaves the buffer; nothing escapes the
// closure that lends the pointer.

typealias Bytes = UnsafeBufferPointer<UInt8>

enum ASCII {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let sp: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58
    static let semicolon: UInt8 = 59
    static let comma: UInt8 = 44
    static let equals: UInt8 = 61
    static let quote: UInt8 = 34
    static let backslash: UInt8 = 92
    static let lessThan: UInt8 = 60
    static let greaterThan: UInt8 = 62
    static let slash: UInt8 = 47
    static let at: UInt8 = 64
    static let question: UInt8 = 63
    static let ampersand: UInt8 = 38
    static let openBracket: UInt8 = 91
    static let closeBracket: UInt8 = 93
    static let percent: UInt8 = 37
    static let zero: UInt8 = 48
    static let star: UInt8 = 42

    // RFC 3261 token characters: alphanum and -.!%*_+`'~ , as a 128-bit mask.
    // Computed once from the character list above; literal so no lazy global init runs.
    private static let tokenLow: UInt64 = 0x03ff_6ca2_0000_0000
    private static let tokenHigh: UInt64 = 0x47ff_ffff_87ff_fffe

    @inline(__always) static func isToken(_ b: UInt8) -> Bool {
        if b < 64 { return (tokenLow >> UInt64(b)) & 1 == 1 }
        if b < 128 { return (tokenHigh >> UInt64(b &- 64)) & 1 == 1 }
        return false
    }

    @inline(__always) static func isWS(_ b: UInt8) -> Bool { b == sp || b == tab }

    /// Space, tab, CR or LF: inside a header value a CR or LF can only be part of a fold.
    @inline(__always) static func isLWS(_ b: UInt8) -> Bool { b == sp || b == tab || b == cr || b == lf }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }

    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 97 < 26 }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b &- 65 < 26 ? b | 0x20 : b }

    static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- 48 < 10 { return b &- 48 }
        let l = b | 0x20
        if l &- 97 < 6 { return l &- 87 }
        return nil
    }
}

extension Bytes {
    /// True when `self[range]` equals `literal`, compared ASCII case-insensitively.
    /// `literal` must be lower case.
    @inline(__always)
    func equalsLower(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard range.count == n, range.lowerBound >= 0, range.upperBound <= count else { return false }
        let lit = literal.utf8Start
        var k = 0
        while k < n {
            if ASCII.lower(self[range.lowerBound &+ k]) != lit[k] { return false }
            k &+= 1
        }
        return true
    }

    /// True when `self[range]` equals `other[otherRange]` ignoring ASCII case.
    func equalsIgnoringCase(_ range: Range<Int>, _ other: Bytes, _ otherRange: Range<Int>) -> Bool {
        guard range.count == otherRange.count else { return false }
        var i = range.lowerBound, j = otherRange.lowerBound
        while i < range.upperBound {
            if ASCII.lower(self[i]) != ASCII.lower(other[j]) { return false }
            i &+= 1; j &+= 1
        }
        return true
    }

    /// Index of the first `byte` in `range`, or nil.
    @inline(__always)
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        var i = range.lowerBound
        while i < range.upperBound {
            if self[i] == byte { return i }
            i &+= 1
        }
        return nil
    }

    /// `range` without leading and trailing LWS (space, tab, CR, LF).
    func trimmedLWS(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi, ASCII.isLWS(self[lo]) { lo &+= 1 }
        while hi > lo, ASCII.isLWS(self[hi &- 1]) { hi &-= 1 }
        return lo..<hi
    }

    /// A decimal number of at most `maxDigits` digits filling `range` exactly; nil if
    /// empty, not all digits, or longer (so the arithmetic below cannot overflow).
    func decimal(_ range: Range<Int>, maxDigits: Int = 18) -> UInt64? {
        guard !range.isEmpty else { return nil }
        var i = range.lowerBound
        // Leading zeros do not count toward the limit ("0068" is a valid Max-Forwards).
        while i < range.upperBound &- 1, self[i] == ASCII.zero { i &+= 1 }
        guard range.upperBound &- i <= maxDigits else { return nil }
        var v: UInt64 = 0
        while i < range.upperBound {
            let d = self[i] &- ASCII.zero
            guard d < 10 else { return nil }
            v = v &* 10 &+ UInt64(d)
            i &+= 1
        }
        return v
    }
}

extension Array where Element == UInt8 {
    /// Appends the bytes of `s` (UTF-8) to the array.
    @inline(__always) mutating func appendString(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}

/// Text of `bytes[range]` with each fold (CR/LF and the white space around it) replaced by
/// one space, as RFC 3261 7.3.1 makes them equivalent.
func unfoldedString(_ bytes: [UInt8], _ range: Range<Int>) -> String {
    let slice = bytes[range]
    guard slice.contains(where: { $0 == ASCII.cr || $0 == ASCII.lf }) else {
        return String(decoding: slice, as: UTF8.self)
    }
    var out: [UInt8] = []
    out.reserveCapacity(range.count)
    var pendingSpace = false
    var sawBreak = false
    for b in slice {
        if b == ASCII.cr || b == ASCII.lf {
            sawBreak = true
            pendingSpace = true
            continue
        }
        if sawBreak && ASCII.isWS(b) { continue }
        if pendingSpace {
            // Drop the white space collected before the break too: one space replaces all.
            while let last = out.last, ASCII.isWS(last) { out.removeLast() }
            out.append(ASCII.sp)
            pendingSpace = false
        }
        sawBreak = false
        out.append(b)
    }
    return String(decoding: out, as: UTF8.self)
}
