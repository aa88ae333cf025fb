import Foundation
import SIP
#if canImport(Glibc)
import Glibc
#endif

/// A small SIP UDP client for the integration tests: sends requests and collects the
/// replies that come back, with a timeout.
final class SIPTestClient {
    let fd: Int32
    let port: UInt16
    let server: UInt16
    private var counter = 0

    init(server: UInt16) throws {
        self.server = server
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        port = UInt16(bigEndian: sa.sin_port)
    }

    deinit { close(fd) }

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

    func send(_ bytes: [UInt8]) {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        sa.sin_port = server.bigEndian
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, parsed, or nil after `timeout` seconds.
    func receive(timeout: TimeInterval = 2) -> SIPMessage? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return try? SIPMessage.parse(Array(buffer[0..<n]))
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
}
