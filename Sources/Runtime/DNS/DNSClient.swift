import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The name servers and timing of /etc/resolv.conf (or of the file `RESPITE_RESOLV_CONF`
/// names: tests point it at a responder on loopback).
///
/// Read: `nameserver ADDRESS` lines (an address with a port, `127.0.0.1:5353` or
/// `[::1]:5353`, is a Respite extension that glibc would ignore), `options timeout:N
/// attempts:N`. `search`, `domain` and `ndots` are not used: names are looked up as
/// written (Kamailio's `dns_use_search_list=no`).
struct ResolverConfig: Sendable, Equatable {
    var nameservers: [SocketAddress] = []
    var timeoutSeconds = 5
    var attempts = 2

    static let environmentVariable = "RESPITE_RESOLV_CONF"

    /// The file the server reads: `RESPITE_RESOLV_CONF` if set, else /etc/resolv.conf.
    static var path: String {
        if let p = getenv(environmentVariable), let s = String(validatingCString: p), !s.isEmpty { return s }
        return "/etc/resolv.conf"
    }

    static func load(path: String = ResolverConfig.path) -> ResolverConfig {
        guard let text = readFile(path) else { return ResolverConfig(nameservers: [SocketAddress(ipv4: 0x7F00_0001, port: 53)]) }
        return parse(text)
    }

    static func parse(_ text: String) -> ResolverConfig {
        var c = ResolverConfig()
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where words.count >= 2:
                let text = words[1]
                if let a = SocketAddress(host: text, port: 53) ?? SocketAddress(parsing: text, defaultPort: 53) {
                    c.nameservers.append(a)
                }
            case "options":
                for option in words.dropFirst() {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let n = Int(parts[1]) else { continue }
                    if parts[0] == "timeout" { c.timeoutSeconds = min(max(n, 1), 30) }
                    if parts[0] == "attempts" { c.attempts = min(max(n, 1), 5) }
                }
            default: continue
            }
        }
        // glibc's rule: no name server line means the local one.
        if c.nameservers.isEmpty { c.nameservers = [SocketAddress(ipv4: 0x7F00_0001, port: 53)] }
        return c
    }

    private static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out += chunk[0..<n]
            if out.count > 1 << 20 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Sends queries over UDP and waits for their answers, within a deadline.
///
/// One socket per address family, bound to an ephemeral port on first use in the process
/// that uses it (never before fork). Each try goes to every name server in turn and waits
/// `timeout` for an answer whose id, question and sender match; `tries` rounds at most,
/// and never past the caller's deadline. Answers to earlier, abandoned queries are read
/// and dropped.
final class DNSClient {
    /// What one query came to.
    enum Outcome {
        case answer(DNSMessage)
        /// No usable answer before the deadline (timeouts, SERVFAIL, REFUSED, malformed).
        case noAnswer(timedOut: Bool)
        /// The deadline had passed before anything was sent.
        case notAsked
    }

    let config: ResolverConfig
    let timeoutMs: UInt64
    let tries: Int
    private var sockets: [SocketAddress.Family: SocketBox] = [:]
    private var buffer = [UInt8](repeating: 0, count: 4096)
    /// Counts queries, timeouts and errors in the cache's statistics, when there is one.
    var counter: ((DNSCacheTable.Counter) -> Void)?

    final class SocketBox {
        let socket: DatagramSocket
        init(_ socket: consuming DatagramSocket) { self.socket = socket }
    }

    init(config: ResolverConfig, timeoutSeconds: Int?, tries: Int?) {
        self.config = config
        timeoutMs = UInt64(max(timeoutSeconds ?? config.timeoutSeconds, 0)) * 1000
        self.tries = max(tries ?? config.attempts, 1)
    }

    /// The worst case of one query: every try of every server times out.
    var worstCaseMs: UInt64 { timeoutMs * UInt64(tries) * UInt64(max(config.nameservers.count, 1)) }

    /// Asks the name servers for (name, type) until an answer, the tries run out, or the
    /// monotonic clock reaches `deadlineMs`.
    func query(_ name: String, type: UInt16, deadlineMs: UInt64) -> Outcome {
        guard let packet = try? DNSMessage.query(id: 0, name: name, type: type).encoded() else {
            return .noAnswer(timedOut: false)
        }
        var timedOut = false, sent = false
        for _ in 0..<tries {
            for server in config.nameservers {
                let now = MonotonicClock.nowMs
                guard now < deadlineMs else { return sent ? .noAnswer(timedOut: true) : .notAsked }
                guard let box = socket(for: server.family) else { continue }
                let id = UInt16.random(in: 0...UInt16.max)
                var bytes = packet
                bytes[0] = UInt8(id >> 8)
                bytes[1] = UInt8(id & 0xFF)
                counter?(.queries)
                sent = true
                guard case .done? = try? box.socket.send(bytes, to: server) else {
                    counter?(.errors)
                    continue
                }
                switch wait(box, id: id, name: name, type: type, from: server, until: min(now + timeoutMs, deadlineMs)) {
                case .answer(let m): return .answer(m)
                case .noAnswer(let t):
                    if t {
                        timedOut = true
                        counter?(.timeouts)
                    } else {
                        counter?(.errors)
                    }
                case .notAsked: continue
                }
            }
        }
        return .noAnswer(timedOut: timedOut)
    }

    private func wait(_ box: SocketBox, id: UInt16, name: String, type: UInt16, from server: SocketAddress,
                      until deadlineMs: UInt64) -> Outcome {
        while true {
            guard let readable = try? box.socket.waitReadable(until: deadlineMs * 1_000_000) else {
                return .noAnswer(timedOut: false)
            }
            guard readable else { return .noAnswer(timedOut: true) }
            let received = buffer.withUnsafeMutableBytes { try? box.socket.receive(into: $0, waiting: false) }
            guard case .done(let (count, sender))? = received else { continue }
            guard sender == server, count >= 12 else { continue }
            guard let m = try? DNSMessage.parse(Array(buffer[0..<count])) else {
                // The id is all that says whether a malformed datagram is ours.
                if count >= 2, UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id { return .noAnswer(timedOut: false) }
                continue
            }
            guard m.id == id, m.isResponse, m.questions.count == 1,
                  m.questions[0].type == type, m.questions[0].name.lowercased() == name.lowercased() else { continue }
            // Server failure, refusal, not implemented: this server cannot answer; try another.
            guard m.rcode == 0 || m.rcode == DNSMessage.noSuchName else { return .noAnswer(timedOut: false) }
            return .answer(m)
        }
    }

    private func socket(for family: SocketAddress.Family) -> SocketBox? {
        if let s = sockets[family] { return s }
        let any = family == .ipv4 ? SocketAddress(ipv4: 0, port: 0) : SocketAddress(ipv6: [UInt8](repeating: 0, count: 16), port: 0)
        guard let any, let socket = try? DatagramSocket(binding: any, options: .init(blocking: false)) else { return nil }
        let box = SocketBox(socket)
        sockets[family] = box
        return box
    }
}
