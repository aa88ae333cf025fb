import Foundation
import Testing
import TestSupport
@testable import Runtime

/// xhttp end to end: raw HTTP/1.x over loopback TCP to the SIP listener of the built
/// server, `event_route[xhttp:request]` answering with xhttp_reply; and the framing of
/// HTTP requests byte by byte.
@Suite(.serialized) struct XHTTPTests {
    static let config = """
    debug=3
    children=2
    tcp_children=2
    listen=udp:127.0.0.1:PORT
    listen=tcp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xhttp.so"
    modparam("xhttp", "url_skip", "^/skip")
    request_route {
        if ($rU == "close") { set_reply_close(); }
        sl_send_reply("200", "OK $pr");
    }
    event_route[xhttp:request] {
        if ($hu =~ "^/echo") { xhttp_reply("200", "OK", "text/plain", "$rb"); exit; }
        if ($hu =~ "^/close") { set_reply_close(); }
        if ($hu =~ "^/none") { exit; }
        xhttp_reply("200", "OK", "text/plain", "$rm $hu host=$hdr(Host) from $si over $proto");
    }
    """

    static func get(_ path: String, version: String = "HTTP/1.1", headers: [String] = ["Host: respite"]) -> String {
        ([ "GET \(path) \(version)"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Reads one whole HTTP reply (head and Content-Length bytes) from `tcp.received` at
    /// `from`; nil when it has not all arrived.
    static func reply(_ bytes: [UInt8], from: Int = 0) -> (head: String, body: String, end: Int)? {
        let text = String(decoding: bytes[from...], as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = String(text[..<split.lowerBound])
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
        let headBytes = text[..<split.upperBound].utf8.count
        guard bytes.count - from >= headBytes + length else { return nil }
        return (head, String(decoding: bytes[(from + headBytes)..<(from + headBytes + length)], as: UTF8.self), from + headBytes + length)
    }

    static func sipOptions(port: UInt16, user: String, callID: String, transport: String = "TCP") -> String {
        [
            "OPTIONS sip:\(user)@127.0.0.1:\(port) SIP/2.0",
            "Via: SIP/2.0/\(transport) 127.0.0.1:5099;branch=z9hG4bK-\(callID);rport",
            "Max-Forwards: 70",
            "From: <sip:tester@127.0.0.1>;tag=t-\(callID)",
            "To: <sip:\(user)@127.0.0.1>",
            "Call-ID: \(callID)",
            "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func aGetWithoutBodyIsAnsweredAndTheConnectionStaysOpen() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send(Self.get("/status?x=1")))
        #expect(tcp.read(timeout: 5) { Self.reply($0) != nil }, "\(server.log.suffix(1500))")
        let r = try #require(Self.reply(tcp.received))
        #expect(r.head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(r.head)")
        #expect(r.head.contains("Content-Type: text/plain\r\n") && r.head.contains("Server: Respite"))
        #expect(!r.head.contains("Connection: close"))
        #expect(r.body == "GET /status?x=1 host=respite from 127.0.0.1 over tcp")
        #expect(!tcp.closedByPeer(within: 0.5), "HTTP/1.1 keeps the connection")
        _ = server.stop()
    }

    @Test func aPostBodyIsEchoedAndAChunkedOneDecoded() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        let body = "{\"jsonrpc\":\"2.0\",\"method\":\"core.version\"}"
        #expect(tcp.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        #expect(tcp.read(timeout: 5) { Self.reply($0) != nil })
        let first = try #require(Self.reply(tcp.received))
        #expect(first.body == body)
        #expect(tcp.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"))
        #expect(tcp.read(timeout: 5) { Self.reply($0, from: first.end) != nil }, "\(server.log.suffix(1500))")
        #expect(Self.reply(tcp.received, from: first.end)?.body == "hello world")
        _ = server.stop()
    }

    @Test func expectContinueGets100BeforeTheBody() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send("POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
        #expect(tcp.read(timeout: 5) { String(decoding: $0, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n" },
                "\(String(decoding: tcp.received, as: UTF8.self))")
        tcp.received = []
        #expect(tcp.send("body"))
        #expect(tcp.read(timeout: 5) { Self.reply($0) != nil })
        #expect(Self.reply(tcp.received)?.body == "body")
        _ = server.stop()
    }

    @Test func twoPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send(Self.get("/one") + "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwo"))
        #expect(tcp.read(timeout: 5) { b in Self.reply(b).flatMap { Self.reply(b, from: $0.end) } != nil }, "\(server.log.suffix(1500))")
        let first = try #require(Self.reply(tcp.received))
        #expect(first.body.hasPrefix("GET /one "))
        #expect(Self.reply(tcp.received, from: first.end)?.body == "two")
        _ = server.stop()
    }

    @Test func http10AndConnectionCloseEndTheConnectionAfterTheReply() throws {
        let server = try ServerProcess(config: Self.config)
        let old = try LoopbackTCPConnection(port: server.port)
        #expect(old.send(Self.get("/old", version: "HTTP/1.0", headers: [])))
        #expect(old.closedByPeer(within: 5), "HTTP/1.0 without keep-alive closes")
        let r = try #require(Self.reply(old.received), "\(server.log.suffix(1500))")
        #expect(r.head.hasPrefix("HTTP/1.0 200 OK\r\n") && r.head.contains("Connection: close"))
        #expect(r.body.hasPrefix("GET /old host=<null>"))

        let kept = try LoopbackTCPConnection(port: server.port)
        #expect(kept.send(Self.get("/kept", version: "HTTP/1.0", headers: ["Connection: keep-alive"])))
        #expect(kept.read(timeout: 5) { Self.reply($0) != nil })
        #expect(Self.reply(kept.received)?.head.contains("Connection: keep-alive") == true)
        #expect(!kept.closedByPeer(within: 0.5))

        let closing = try LoopbackTCPConnection(port: server.port)
        #expect(closing.send(Self.get("/bye", headers: ["Host: h", "Connection: close"])))
        #expect(closing.closedByPeer(within: 5))
        #expect(Self.reply(closing.received)?.body.hasPrefix("GET /bye ") == true)
        _ = server.stop()
    }

    @Test func setReplyCloseClosesAfterAnHTTPAndASIPReply() throws {
        let server = try ServerProcess(config: Self.config)
        let http = try LoopbackTCPConnection(port: server.port)
        #expect(http.send(Self.get("/close")))
        #expect(http.closedByPeer(within: 5))
        let r = try #require(Self.reply(http.received), "\(server.log.suffix(1500))")
        #expect(r.head.contains("Connection: close") && r.body.hasPrefix("GET /close "))

        let sip = try LoopbackTCPConnection(port: server.port)
        #expect(sip.send(Self.sipOptions(port: server.port, user: "close", callID: "close-1")))
        #expect(sip.closedByPeer(within: 5))
        #expect(sip.count("SIP/2.0 200 OK tcp") == 1, "\(String(decoding: sip.received, as: UTF8.self))")
        _ = server.stop()
    }

    @Test func aRouteWithoutReplyOrASkippedURLSendsNothing() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send(Self.get("/none") + Self.get("/skip/x") + Self.get("/after")))
        #expect(tcp.read(timeout: 5) { Self.reply($0) != nil })
        let r = try #require(Self.reply(tcp.received))
        #expect(r.body.hasPrefix("GET /after "), "only the third is answered: \(r.body)")
        #expect(!tcp.closedByPeer(within: 0.3))
        _ = server.stop()
    }

    @Test func anOversizedHeaderBlockOrGarbageClosesTheConnectionAndTheServerGoesOn() throws {
        let server = try ServerProcess(config: Self.config)
        let big = try LoopbackTCPConnection(port: server.port)
        _ = big.send(Self.get("/big", headers: ["X-Big: " + String(repeating: "a", count: 20000)]))
        #expect(big.closedByPeer(within: 5))
        #expect(Self.reply(big.received) == nil)
        #expect(waitUntil(timeout: 2) { server.log.contains("HTTP header block larger than 16384 bytes") })

        let garbage = try LoopbackTCPConnection(port: server.port)
        _ = garbage.send("hello there, not a protocol\r\n\r\n")
        #expect(garbage.closedByPeer(within: 5))

        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send(Self.sipOptions(port: server.port, user: "after", callID: "after-1")))
        #expect(tcp.read(timeout: 5) { _ in tcp.count("SIP/2.0 200 OK tcp") == 1 })
        #expect(tcp.send(Self.get("/still")))
        #expect(tcp.read(timeout: 5) { b in b.count > 0 && String(decoding: b, as: UTF8.self).contains("GET /still ") })

        let udp = try LoopbackUDPSocket()
        udp.send(Array(Self.sipOptions(port: server.port, user: "udp", callID: "udp-1", transport: "UDP").utf8), to: server.port)
        let answer = udp.receive(timeout: 5).map { String(decoding: $0, as: UTF8.self) }
        #expect(answer?.hasPrefix("SIP/2.0 200 OK udp") == true, "\(answer ?? "nothing")")
        _ = server.stop()
    }

    @Test func aSIPRequestOnTheSameConnectionAsHTTPIsAnswered() throws {
        let server = try ServerProcess(config: Self.config)
        let tcp = try LoopbackTCPConnection(port: server.port)
        #expect(tcp.send(Self.get("/first") + Self.sipOptions(port: server.port, user: "sip", callID: "mixed-1")))
        #expect(tcp.read(timeout: 5) { _ in tcp.count("SIP/2.0 200 OK tcp") == 1 && tcp.count("HTTP/1.1 200 OK") == 1 },
                "\(String(decoding: tcp.received, as: UTF8.self))\n\(server.log.suffix(1500))")
        _ = server.stop()
    }

    @Test func withoutXHTTPAnHTTPRequestIsGarbage() throws {
        let server = try ServerProcess(config: "listen=udp:127.0.0.1:PORT\nlisten=tcp:127.0.0.1:PORT\nloadmodule \"sl.so\"\nrequest_route { sl_send_reply(\"200\", \"OK\"); }\n")
        let tcp = try LoopbackTCPConnection(port: server.port)
        _ = tcp.send(Self.get("/x"))
        #expect(tcp.closedByPeer(within: 5))
        #expect(tcp.received.isEmpty)
        #expect(waitUntil(timeout: 2) { server.log.contains("not a SIP request or status line") })
        _ = server.stop()
    }

    // MARK: framing, byte by byte

    func frame(_ text: String, max: Int = 65535) -> HTTPFraming.Frame {
        Array(text.utf8).withUnsafeBytes { HTTPFraming.next($0, maxBodyBytes: max) }
    }

    @Test func framing() {
        let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(frame(get + "GET") == .request(length: get.utf8.count, headLength: get.utf8.count, decodedBody: nil))
        #expect(frame("GET / HTTP/1.0\r\n\r\n") == .request(length: 18, headLength: 18, decodedBody: nil))
        #expect(frame("GET / HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        #expect(frame("GET / HTTP/1.1") == .notHTTP, "the line is not whole yet: SIP framing waits")
        #expect(frame("OPTIONS sip:a@b SIP/2.0\r\n\r\n") == .notHTTP)
        #expect(frame("GET / HTTP/2.0\r\n\r\n") == .notHTTP)
        #expect(frame("G(T / HTTP/1.1\r\n\r\n") == .notHTTP)
        #expect(frame("\r\n\r\n") == .notHTTP)
        let post = "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n"
        #expect(frame(post + "abc") == .incomplete)
        let expecting = "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
        #expect(frame(expecting) == .continueExpected)
        #expect(frame(expecting + "ab") == .incomplete, "the body has started: 100 was sent")
        #expect(frame("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n") == .request(length: 40, headLength: 40, decodedBody: nil))
        #expect(frame(post + "abcd") == .request(length: post.utf8.count + 4, headLength: post.utf8.count, decodedBody: nil))
        #expect(frame("POST /x HTTP/1.1\r\nContent-Length: x\r\n\r\n") == .bad("HTTP Content-Length 'x' is not a number"))
        #expect(frame("POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n", max: 8) == .bad("HTTP Content-Length 9 is over 8 bytes"))
        let chunked = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(frame(chunked + "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
            == .request(length: chunked.utf8.count + 21, headLength: chunked.utf8.count, decodedBody: Array("abc".utf8)))
        #expect(frame(chunked + "3\r\nabc\r\n0\r\n") == .incomplete)
        #expect(frame(chunked + "z\r\n") == .bad("a bad HTTP chunk-size line"))
        #expect(frame("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == .bad("unsupported HTTP Transfer-Encoding 'gzip'"))
        let huge = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTPFraming.maxHeadBytes)
        #expect(frame(huge) == .bad("HTTP header block larger than 16384 bytes"))
    }

    @Test func parsing() throws {
        let r = try #require(XHTTPRequest(Array("POST /RPC?a=1 HTTP/1.0\r\nHost: x\r\nX-Two: 1\r\n  2\r\nx-two: 3\r\n\r\nbody".utf8)))
        #expect(r.method == "POST" && r.url == "/RPC?a=1" && r.path == "/RPC" && r.query == "a=1" && r.version == "HTTP/1.0")
        #expect(r.header("host") == "x" && r.headers(named: "X-TWO") == ["1 2", "3"])
        #expect(r.body == Array("body".utf8) && !r.keepsConnection)
        #expect(XHTTPRequest(Array("GET / HTTP/1.1\r\n\r\n".utf8))?.query == nil)
        #expect(XHTTPRequest(Array("GET / HTTP/1.1\r\n\r\n".utf8))?.keepsConnection == true)
        #expect(XHTTPRequest(Array("not http\r\n\r\n".utf8)) == nil)
    }
}
