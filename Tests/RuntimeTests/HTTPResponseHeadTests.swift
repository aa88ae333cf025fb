import Testing

@testable import Runtime

/// The header block curl collects: every response of the exchange, the last one counts.
struct HTTPResponseHeadTests {
    static func parse(_ text: String) -> HTTPResponse {
        var r = HTTPResponse()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { r.parseHead($0) }
        return r
    }

    @Test func theLastResponseOfARedirectCounts() {
        let r = Self.parse("HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nX-A: 1\r\nx-a:2\r\n\r\n")
        #expect(r.reason == "OK")
        #expect(r.header("content-type") == "text/plain")
        #expect(r.headerValues("X-A") == ["1", "2"])
        #expect(r.header("Location") == nil)
        #expect(r.head == "HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nX-A: 1\r\nx-a:2\r\n\r\n")
    }

    @Test func oddShapesDoNotTrip() {
        #expect(Self.parse("HTTP/2 200\r\n\r\n").reason == "")
        #expect(Self.parse("HTTP/1.1 404 Not Found\r\nno colon here\r\n\r\n").headers.isEmpty)
        #expect(Self.parse("HTTP/1.1 500 Internal  Error\r\n\r\n").reason == "Internal  Error")
        #expect(Self.parse("").headers.isEmpty)
        #expect(Self.parse("\r\n\r\n").reason == "")
        #expect(Self.parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nA: b").reason == "Created")
    }
}
