import Testing
@testable import Runtime

/// Where a message ends in a TCP stream, byte by byte.
@Suite struct TCPFramingTests {
    func frame(_ text: String, max: Int = 65535, noCL: Bool = false) -> TCPFraming.Frame {
        Array(text.utf8).withUnsafeBytes { TCPFraming.next($0, maxBytes: max, acceptNoContentLength: noCL) }
    }

    static let head = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: c\r\n"

    @Test func aMessageEndsAfterItsBody() {
        let m = Self.head + "Content-Length: 5\r\n\r\nhello"
        #expect(frame(m) == .message(length: m.utf8.count))
        #expect(frame(m + "OPTIONS") == .message(length: m.utf8.count), "the next message waits")
        #expect(frame(String(m.dropLast())) == .incomplete)
        #expect(frame(Self.head) == .incomplete)
    }

    @Test func compactAndSpacedContentLength() {
        #expect(frame(Self.head + "l: 2\r\n\r\nab") == .message(length: Self.head.utf8.count + 10))
        #expect(frame(Self.head + "content-LENGTH :  2 \r\n\r\nab") == .message(length: Self.head.utf8.count + 26))
    }

    @Test func keepalives() {
        #expect(frame("\r\n\r\nOPTIONS") == .keepalive(length: 4, ping: true))
        #expect(frame("\r\nOPTIONS") == .keepalive(length: 2, ping: false))
        #expect(frame("\r\n") == .incomplete, "may be the start of a ping")
    }

    @Test func badStreams() {
        #expect(frame("\u{01}\u{02}garbage\r\n") == .bad("binary bytes in the first line", tooLarge: false))
        #expect(frame("HELLO WORLD\r\n\r\n") == .bad("the first line is not a SIP request or status line", tooLarge: false))
        #expect(frame(String(repeating: "A", count: 1100)) == .bad("no line end in the first 1024 bytes", tooLarge: false))
        #expect(frame(Self.head + "\r\n") == .bad("no Content-Length (tcp_accept_no_cl is off)", tooLarge: false))
        #expect(frame(Self.head + "\r\n", noCL: true) == .message(length: Self.head.utf8.count + 2))
        #expect(frame(Self.head + "Content-Length: x\r\n\r\n") == .bad("a Content-Length that is not a number", tooLarge: false))
        guard case .bad(_, let tooLarge) = frame(Self.head + "Content-Length: 70000\r\n\r\n") else {
            Issue.record("a body past the cap is refused")
            return
        }
        #expect(tooLarge)
        guard case .bad(_, true) = frame(Self.head + "X: " + String(repeating: "y", count: 70000), max: 65535) else {
            Issue.record("headers past the cap are refused")
            return
        }
    }

    /// Random streams and random cuts of real messages: the framer never traps, and what
    /// it returns is within the bytes it was given.
    @Test func randomInputNeverTrapsAndStaysInBounds() {
        var generator = SystemRandomNumberGenerator()
        let real = Array((Self.head + "Content-Length: 5\r\n\r\nhello").utf8)
        for round in 0..<5000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = Array(real.prefix(Int.random(in: 0...real.count, using: &generator)))
                for _ in 0..<Int.random(in: 0...3, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            let frame = bytes.withUnsafeBytes { TCPFraming.next($0, maxBytes: 512, acceptNoContentLength: round % 3 == 0) }
            switch frame {
            case .message(let length), .keepalive(let length, _):
                #expect(length > 0 && length <= bytes.count)
            case .incomplete, .bad:
                break
            }
        }
    }
}
