/// Where one SIP message ends in a TCP byte stream (RFC 3261 §18.3): after the empty line
/// that ends its headers and Content-Length bytes of body. Pure, so that it is tested
/// byte by byte; the tcp main calls it on each connection's buffer.
enum TCPFraming {
    enum Frame: Equatable {
        /// More bytes are needed.
        case incomplete
        /// `length` bytes of CRLFs between messages: a keepalive. `ping` when they are
        /// the double CRLF of RFC 5626 §4.4.1, which is answered with one CRLF.
        case keepalive(length: Int, ping: Bool)
        /// A whole message of `length` bytes.
        case message(length: Int)
        /// The stream cannot be read as SIP: the connection closes. `tooLarge` when the
        /// message was only too big (it may be answered 413 first).
        case bad(String, tooLarge: Bool)
    }

    /// A first line longer than this without CRLF is not SIP.
    static let maxFirstLine = 1024

    static func next(_ buffer: UnsafeRawBufferPointer, maxBytes: Int, acceptNoContentLength: Bool) -> Frame {
        let b = buffer.bindMemory(to: UInt8.self)
        let n = b.count
        guard n > 0 else { return .incomplete }
        if b[0] == 0x0D || b[0] == 0x0A {
            var k = 0
            while k < n && (b[k] == 0x0D || b[k] == 0x0A) { k += 1 }
            if k == n && n < 4 && isPrefixOfPing(b) { return .incomplete }
            let ping = k >= 4 && b[0] == 0x0D && b[1] == 0x0A && b[2] == 0x0D && b[3] == 0x0A
            return .keepalive(length: ping ? 4 : k, ping: ping)
        }
        // The first line must end soon, in printable text, and name SIP/2.0.
        var lineEnd = -1
        for k in 0..<min(n, maxFirstLine) {
            let c = b[k]
            if c == 0x0D || c == 0x0A { lineEnd = k; break }
            if c < 0x20 && c != 0x09 || c == 0x7F { return .bad("binary bytes in the first line", tooLarge: false) }
        }
        if lineEnd < 0 {
            return n >= maxFirstLine ? .bad("no line end in the first \(maxFirstLine) bytes", tooLarge: false) : .incomplete
        }
        guard contains(b, 0..<lineEnd, "SIP/2.0") else { return .bad("the first line is not a SIP request or status line", tooLarge: false) }
        // The end of the headers.
        var headEnd = -1
        var k = lineEnd
        while k + 3 < n {
            if b[k] == 0x0D && b[k + 1] == 0x0A && b[k + 2] == 0x0D && b[k + 3] == 0x0A { headEnd = k + 4; break }
            k += 1
        }
        if headEnd < 0 {
            return n > maxBytes ? .bad("headers larger than \(maxBytes) bytes", tooLarge: true) : .incomplete
        }
        let length: Int
        switch contentLength(b, lineEnd..<headEnd) {
        case .some(.some(let value)):
            length = value
        case .some(.none):
            return .bad("a Content-Length that is not a number", tooLarge: false)
        case .none:
            guard acceptNoContentLength else { return .bad("no Content-Length (tcp_accept_no_cl is off)", tooLarge: false) }
            length = 0
        }
        guard length <= maxBytes - headEnd else {
            return .bad("Content-Length \(length) makes the message larger than \(maxBytes) bytes", tooLarge: true)
        }
        return n >= headEnd + length ? .message(length: headEnd + length) : .incomplete
    }

    private static func isPrefixOfPing(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let ping: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        return (0..<b.count).allSatisfy { b[$0] == ping[$0] }
    }

    private static func contains(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ text: StaticString) -> Bool {
        let t = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard range.count >= t.count else { return false }
        outer: for start in range.lowerBound...(range.upperBound - t.count) {
            for j in 0..<t.count where b[start + j] != t[j] { continue outer }
            return true
        }
        return false
    }

    /// The Content-Length (or `l`) header's value among the header lines in `range`:
    /// nil when there is none, .some(nil) when it is not a number.
    private static func contentLength(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int?? {
        var i = range.lowerBound
        while i < range.upperBound {
            // At a line start (after CRLF).
            while i < range.upperBound && (b[i] == 0x0D || b[i] == 0x0A) { i += 1 }
            let start = i
            while i < range.upperBound && b[i] != 0x0D && b[i] != 0x0A { i += 1 }
            let line = start..<i
            guard let colon = line.first(where: { b[$0] == 0x3A }) else { continue }
            var nameEnd = colon
            while nameEnd > start && (b[nameEnd - 1] == 0x20 || b[nameEnd - 1] == 0x09) { nameEnd -= 1 }
            guard isContentLength(b, start..<nameEnd) else { continue }
            var v = colon + 1
            while v < line.upperBound && (b[v] == 0x20 || b[v] == 0x09) { v += 1 }
            var value = 0
            var digits = 0
            while v < line.upperBound, b[v] >= 0x30 && b[v] <= 0x39 {
                value = value * 10 + Int(b[v] - 0x30)
                digits += 1
                if digits > 9 { return .some(nil) }
                v += 1
            }
            while v < line.upperBound && (b[v] == 0x20 || b[v] == 0x09) { v += 1 }
            return digits == 0 || v != line.upperBound ? .some(nil) : .some(value)
        }
        return nil
    }

    private static func isContentLength(_ b: UnsafeBufferPointer<UInt8>, _ name: Range<Int>) -> Bool {
        let lower = name.map { b[$0] | 0x20 }
        return lower == Array("content-length".utf8) || lower == [UInt8(ascii: "l")]
    }
}
