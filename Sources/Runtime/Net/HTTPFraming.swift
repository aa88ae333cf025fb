/// Where one HTTP/1.x request ends in a TCP byte stream (RFC 9112 §6): after the empty
/// line that ends its header block, then `Content-Length` bytes of body, or a chunked body
/// (decoded here), or no body when it has neither. Used by the tcp main only when the
/// config loads xhttp, before the SIP framing; pure, so that it is tested byte by byte.
enum HTTPFraming {
    enum Frame: Equatable {
        /// The stream does not start with a whole HTTP/1.x request line: the SIP framing
        /// decides (it waits for the line end, or finds SIP, or closes the connection).
        case notHTTP
        /// An HTTP request has started and more bytes are needed.
        case incomplete
        /// Its head has come, with `Expect: 100-continue`, and none of its body yet: the
        /// client waits for `100 Continue` before it sends the body (RFC 9110 §10.1.1).
        case continueExpected
        /// A whole request: `length` bytes of the stream, the first `headLength` of them its
        /// request line and headers (up to and with the empty line). `decodedBody` is the
        /// body of a chunked request, decoded; nil when the body is the `length - headLength`
        /// bytes after the head.
        case request(length: Int, headLength: Int, decodedBody: [UInt8]?)
        /// The request cannot be framed (header block too large, a bad Content-Length or
        /// chunk, a transfer coding other than chunked): the connection closes.
        case bad(String)
    }

    /// The request line and headers, with the empty line, may be this long (Kamailio's
    /// read buffer holds about as much; it drops the connection beyond it).
    static let maxHeadBytes = 16384
    /// A chunk-size line may be this long.
    static let maxChunkLine = 1024

    static func next(_ buffer: UnsafeRawBufferPointer, maxBodyBytes: Int) -> Frame {
        let b = buffer.bindMemory(to: UInt8.self)
        let n = b.count
        guard let lineEnd = (0..<min(n, TCPFraming.maxFirstLine)).first(where: { b[$0] == 0x0A }),
              isRequestLine(b, 0..<(lineEnd > 0 && b[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd)) else { return .notHTTP }
        guard let headEnd = findEmptyLine(b, from: lineEnd, limit: min(n, maxHeadBytes)) else {
            return n >= maxHeadBytes ? .bad("HTTP header block larger than \(maxHeadBytes) bytes") : .incomplete
        }
        let head = XHTTPRequest.headerFields(b, (lineEnd + 1)..<headEnd)
        let frame = body(b, head, headEnd: headEnd, maxBodyBytes: maxBodyBytes)
        if frame == .incomplete, n == headEnd,
           head.contains(where: { $0.name.lowercased() == "expect" && $0.value.lowercased() == "100-continue" }) {
            return .continueExpected
        }
        return frame
    }

    /// Where the body after a head ending at `headEnd` ends.
    static func body(_ b: UnsafeBufferPointer<UInt8>, _ head: [(name: String, value: String)], headEnd: Int,
                     maxBodyBytes: Int) -> Frame {
        let n = b.count
        if let coding = head.last(where: { $0.name.lowercased() == "transfer-encoding" })?.value {
            guard coding.lowercased().split(separator: ",").last?.trimmingCharacters(in: " \t") == "chunked" else {
                return .bad("unsupported HTTP Transfer-Encoding '\(coding)'")
            }
            return chunked(b, from: headEnd, maxBodyBytes: maxBodyBytes)
        }
        var length = 0
        if let text = head.last(where: { $0.name.lowercased() == "content-length" })?.value {
            guard let value = Int(text.trimmingCharacters(in: " \t")), value >= 0 else {
                return .bad("HTTP Content-Length '\(text)' is not a number")
            }
            guard value <= maxBodyBytes else { return .bad("HTTP Content-Length \(value) is over \(maxBodyBytes) bytes") }
            length = value
        }
        return n >= headEnd + length ? .request(length: headEnd + length, headLength: headEnd, decodedBody: nil) : .incomplete
    }

    /// `METHOD SP request-target SP HTTP/1.d`, the method a token, the target without
    /// spaces or control bytes.
    static func isRequestLine(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> Bool {
        let version = Array("HTTP/1.".utf8)
        // The shortest: "A / HTTP/1.1".
        guard line.count >= 12 else { return false }
        let end = line.upperBound
        guard (0..<version.count).allSatisfy({ b[end - 8 + $0] == version[$0] }),
              b[end - 1] >= 0x30 && b[end - 1] <= 0x39, b[end - 9] == 0x20 else { return false }
        guard let space = line.first(where: { b[$0] == 0x20 }), space > line.lowerBound, space < end - 10 else { return false }
        let tchars = Set("!#$%&'*+-.^_`|~".utf8)
        for k in line.lowerBound..<space {
            let c = b[k]
            guard (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || tchars.contains(c) else { return false }
        }
        return ((space + 1)..<(end - 9)).allSatisfy { b[$0] > 0x20 && b[$0] != 0x7F }
    }

    /// The offset just after the first CRLFCRLF (or LFLF) at or after `from`, within `limit`.
    static func findEmptyLine(_ b: UnsafeBufferPointer<UInt8>, from: Int, limit: Int) -> Int? {
        var k = max(from, 0)
        while k + 1 < limit {
            if b[k] == 0x0A {
                if b[k + 1] == 0x0A { return k + 2 }
                if k + 2 < limit, b[k + 1] == 0x0D, b[k + 2] == 0x0A { return k + 3 }
            }
            k += 1
        }
        return nil
    }

    /// A chunked body from `start` (RFC 9112 §7.1): chunk-size lines (extensions after `;`
    /// ignored), chunk data each followed by CRLF, the last chunk (size 0), trailer lines
    /// (dropped) and an empty line.
    static func chunked(_ b: UnsafeBufferPointer<UInt8>, from start: Int, maxBodyBytes: Int) -> Frame {
        let n = b.count
        var i = start
        var body: [UInt8] = []
        while true {
            guard let lf = (i..<min(n, i + maxChunkLine)).first(where: { b[$0] == 0x0A }) else {
                return n - i >= maxChunkLine ? .bad("an HTTP chunk-size line over \(maxChunkLine) bytes") : .incomplete
            }
            var size = 0, digits = 0, k = i
            while k < lf, let digit = hexValue(b[k]) {
                size = size * 16 + digit
                digits += 1
                k += 1
            }
            guard digits > 0, digits <= 7, k == lf || b[k] == 0x3B || b[k] == 0x0D || b[k] == 0x20 || b[k] == 0x09 else {
                return .bad("a bad HTTP chunk-size line")
            }
            i = lf + 1
            if size == 0 {
                // Trailer lines up to the empty line.
                while true {
                    guard let end = (i..<min(n, i + maxChunkLine)).first(where: { b[$0] == 0x0A }) else {
                        return n - i >= maxChunkLine ? .bad("an HTTP trailer line over \(maxChunkLine) bytes") : .incomplete
                    }
                    let empty = end == i || (end == i + 1 && b[i] == 0x0D)
                    i = end + 1
                    if empty { return .request(length: i, headLength: start, decodedBody: body) }
                    guard i - start <= maxBodyBytes + maxHeadBytes else { return .bad("HTTP trailers too large") }
                }
            }
            guard body.count + size <= maxBodyBytes else { return .bad("a chunked HTTP body over \(maxBodyBytes) bytes") }
            guard n >= i + size + 1 else { return .incomplete }
            if b[i + size] == 0x0D {
                guard n >= i + size + 2 else { return .incomplete }
                guard b[i + size + 1] == 0x0A else { return .bad("an HTTP chunk not followed by CRLF") }
            } else if b[i + size] != 0x0A {
                return .bad("an HTTP chunk not followed by CRLF")
            }
            body.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + size)]))
            i += size + (b[i + size] == 0x0D ? 2 : 1)
        }
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }
}
