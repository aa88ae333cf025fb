/// One HTTP/1.x request that arrived on a SIP TCP listener, as a tcp receiver parses it
/// from what the tcp main framed (`HTTPFraming`): its request line, header fields in order,
/// and body (a chunked body already decoded). A plain value, owned by the receiver handling
/// it; nothing of it lives in the arena.
public struct XHTTPRequest: Sendable {
    /// `GET`, `POST`... as sent (methods are case-sensitive).
    public var method: String
    /// The request-target as sent: `/RPC?x=1` (Kamailio's `$hu`).
    public var url: String
    /// The target up to `?`.
    public var path: String
    /// What follows `?` in the target; nil when it has no `?`.
    public var query: String?
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// Every header field, in order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first value of header `name` (compared without case); nil when absent.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name`, in order.
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Whether the connection stays open after the reply (RFC 9112 §9.3): HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var keepsConnection: Bool {
        let tokens = headers(named: "Connection").flatMap { $0.lowercased().split(separator: ",") }
            .map { $0.trimmingCharacters(in: " \t") }
        if tokens.contains("close") { return false }
        return version == "HTTP/1.0" ? tokens.contains("keep-alive") : true
    }

    /// Parses what `HTTPFraming` framed: the head (request line, headers, empty line) and
    /// the body after it. Nil when the request line is not `METHOD SP target SP HTTP/1.x`.
    public init?(_ bytes: [UInt8]) {
        let parsed: XHTTPRequest?? = bytes.withUnsafeBufferPointer { b in
            guard let lf = b.firstIndex(of: 0x0A) else { return nil }
            let lineEnd = lf > 0 && b[lf - 1] == 0x0D ? lf - 1 : lf
            guard HTTPFraming.isRequestLine(b, 0..<lineEnd),
                  let headEnd = HTTPFraming.findEmptyLine(b, from: lf, limit: b.count) else { return nil }
            let line = String(decoding: UnsafeBufferPointer(rebasing: b[0..<lineEnd]), as: UTF8.self)
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            let target = String(parts[1])
            let question = target.firstIndex(of: "?")
            return XHTTPRequest(method: String(parts[0]), url: target,
                                path: question.map { String(target[..<$0]) } ?? target,
                                query: question.map { String(target[target.index(after: $0)...]) },
                                version: String(parts[2]), headers: XHTTPRequest.headerFields(b, (lf + 1)..<headEnd),
                                body: Array(b[headEnd...]))
        }
        guard let parsed, let request = parsed else { return nil }
        self = request
    }

    public init(method: String, url: String, path: String, query: String?, version: String,
                headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The header fields among the lines in `range` (each `name: value`, values trimmed; a
    /// line starting with a space or tab continues the previous value; lines without a
    /// colon are skipped).
    static func headerFields(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        // Line by line on the bytes: in a Swift String, CRLF is one Character.
        for raw in b[range].split(separator: 0x0A) {
            let bytes = raw.last == 0x0D ? raw.dropLast() : raw
            guard !bytes.isEmpty else { continue }
            let line = String(decoding: bytes, as: UTF8.self)
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += " " + line.trimmingCharacters(in: " \t")
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((name: line[..<colon].trimmingCharacters(in: " \t"),
                           value: line[line.index(after: colon)...].trimmingCharacters(in: " \t")))
        }
        return fields
    }
}
