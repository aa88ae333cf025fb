import Foundation
import SIP
import TestSupport

/// A small SIP UDP client for the integration tests: sends requests and collects the
/// replies that come back, with a timeout.
final class SIPTestClient {
    let socket: LoopbackUDPSocket
    var port: UInt16 { socket.port }
    let server: UInt16
    private var counter = 0

    /// A client on `host` (a loopback address, host byte order) talking to 127.0.0.1:`server`.
    init(server: UInt16, host: UInt32 = 0x7F00_0001) throws {
        self.server = server
        socket = try LoopbackUDPSocket(host: host)
    }

    /// A request with a unique branch and Call-ID (unless given).
    func request(_ method: String, user: String = "service", headers: [String] = [], body: String = "",
                 callID: String? = nil, cseq: Int = 1, branch: String? = nil) -> String {
        counter += 1
        let b = branch ?? "z9hG4bK-test-\(port)-\(counter)-\(UInt32.random(in: 0...UInt32.max))"
        let cid = callID ?? "call-\(port)-\(counter)-\(UInt32.random(in: 0...UInt32.max))@127.0.0.1"
        var lines = [
            "\(method) sip:\(user)@127.0.0.1:\(server) SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(port);branch=\(b);rport",
            "Max-Forwards: 70",
            "From: <sip:tester@127.0.0.1:\(port)>;tag=from-\(counter)",
            "To: <sip:\(user)@127.0.0.1:\(server)>",
            "Call-ID: \(cid)",
            "CSeq: \(cseq) \(method)",
            "Contact: <sip:tester@127.0.0.1:\(port)>",
        ]
        // A header the caller gives replaces the default of the same name.
        let given = Set(headers.compactMap { $0.split(separator: ":").first.map { $0.lowercased() } })
        lines = [lines[0]] + lines.dropFirst().filter { !given.contains(String($0.split(separator: ":")[0]).lowercased()) }
        lines += headers
        lines.append("Content-Length: \(body.utf8.count)")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) { socket.send(bytes, to: server) }

    /// The next datagram, parsed, or nil after `timeout` seconds.
    func receive(timeout: TimeInterval = 2) -> SIPMessage? {
        guard let bytes = socket.receive(timeout: timeout) else { return nil }
        return try? SIPMessage.parse(bytes)
    }

    /// Sends a request and returns its first final reply (skipping 1xx and replies to
    /// other requests).
    func exchange(_ text: String, timeout: TimeInterval = 2) -> SIPMessage? {
        let callID = text.split(separator: "\r\n").first { $0.hasPrefix("Call-ID:") }
            .map { $0.dropFirst(8).trimmingCharacters(in: .whitespaces) }
        send(text)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = receive(timeout: max(0.001, deadline.timeIntervalSinceNow)) else { return nil }
            if !m.isRequest && m.statusCode >= 200 && (callID == nil || m.callID == callID) { return m }
        }
        return nil
    }

    /// The ACK of a negative final `reply` to an INVITE sent to `requestURI` (RFC 3261
    /// 17.1.1.3): the reply's Via, From, To (with its tag) and Call-ID, CSeq's number.
    static func ack(for reply: SIPMessage, requestURI: String) -> String {
        var out = "ACK \(requestURI) SIP/2.0\r\n"
        for line in String(decoding: reply.bytes, as: UTF8.self).split(separator: "\r\n")
        where ["Via:", "From:", "To:", "Call-ID:"].contains(where: { line.hasPrefix($0) }) {
            out += line + "\r\n"
        }
        return out + "Max-Forwards: 70\r\nCSeq: \(reply.cseq.number) ACK\r\nContent-Length: 0\r\n\r\n"
    }

    /// What a callee in a test answers to `request`: `status` ("200 OK"), with its Via,
    /// From, To (tagged), Call-ID and CSeq, and `extra` header lines.
    static func reply(to request: [UInt8], _ status: String, extra: [String] = []) -> [UInt8] {
        var out = "SIP/2.0 \(status)\r\n"
        for line in String(decoding: request, as: UTF8.self).split(separator: "\r\n")
        where ["Via:", "From:", "To:", "Call-ID:", "CSeq:"].contains(where: { line.hasPrefix($0) }) {
            out += line.hasPrefix("To:") ? "\(line);tag=callee\r\n" : "\(line)\r\n"
        }
        for line in extra { out += line + "\r\n" }
        return Array((out + "Content-Length: 0\r\n\r\n").utf8)
    }
}
