/// A reusable output buffer for building messages: one per process is enough, `reset()`
/// keeps its capacity so steady-state building allocates nothing.
public struct MessageBuffer: Sendable {
    /// The bytes written since the last `reset()`.
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Empties the buffer, keeping its storage.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    public mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    public mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    public mutating func append(_ b: ArraySlice<UInt8>) { bytes.append(contentsOf: b) }

    public mutating func append(byte: UInt8) { bytes.append(byte) }

    /// Appends a non-negative decimal number without making a String.
    public mutating func appendDecimal(_ value: Int) {
        var v = value < 0 ? 0 : value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            } while v > 0 && n < 20
            while n > 0 {
                n -= 1
                bytes.append(d[n])
            }
        }
    }

    /// Appends lower-case hexadecimal digits of `value`, all 16.
    public mutating func appendHex(_ value: UInt64) {
        let digits: StaticString = "0123456789abcdef"
        let d = digits.utf8Start
        var shift: UInt64 = 60
        while true {
            bytes.append(d[Int((value >> shift) & 15)])
            if shift == 0 { break }
            shift -= 4
        }
    }

    /// Appends `name: value` and CRLF.
    public mutating func appendHeader(_ name: String, _ value: String) {
        append(name)
        bytes.append(ASCII.colon)
        bytes.append(ASCII.sp)
        append(value)
        appendCRLF()
    }

    /// Appends `name: ` then the bytes of `message[range]` and CRLF.
    mutating func appendHeader(_ name: StaticString, from message: SIPMessage, _ range: Range<Int>) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(ASCII.colon)
        bytes.append(ASCII.sp)
        bytes.append(contentsOf: message.bytes[range])
        appendCRLF()
    }

    mutating func appendStatic(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func appendCRLF() {
        bytes.append(ASCII.cr)
        bytes.append(ASCII.lf)
    }
}

/// Why a message could not be built.
public enum SIPBuildError: Error, Sendable, Equatable {
    /// The request's Max-Forwards is 0: answer 483 instead of forwarding (RFC 3261 16.3).
    case maxForwardsExhausted
    /// The message given is not the kind the builder needs (a request, a non-2xx final...).
    case wrongMessage(String)
}
