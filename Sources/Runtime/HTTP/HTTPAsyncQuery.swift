import Shared

/// One http_async_client query as it travels from the process that called
/// http_async_query() to an Http Worker, in the task's payload block.
struct HTTPAsyncQuery: Equatable {
    /// Its entry in the pending-query table.
    var claim: HTTPQueryTable.Claim
    /// The suspended transaction the answer resumes; nil: the route runs on its own.
    var transaction: TransactionID?
    /// The route to run with the answer.
    var route: Int
    var request: HTTPRequest

    func encoded() -> [UInt8] {
        var w = PayloadWriter()
        w.u64(UInt64(claim.index))
        w.u64(claim.id)
        w.u64(transaction.map { UInt64($0.index) << 32 | UInt64($0.label) } ?? 0)
        w.u64(UInt64(bitPattern: Int64(route)))
        let r = request
        w.string(r.url)
        w.optional(r.method)
        w.u64(UInt64(r.headers.count))
        for h in r.headers { w.string(h) }
        w.optional(r.body.map { String(decoding: $0, as: UTF8.self) })
        for n in [r.timeoutMs, r.connectTimeoutMs, r.maxDataSize, r.authMethod, r.tls.verifyHost, r.tls.version,
                  r.tcpKeepIdle, r.tcpKeepInterval] {
            w.u64(UInt64(bitPattern: Int64(n)))
        }
        w.u64((r.followRedirects ? 1 : 0) | (r.tls.verifyPeer ? 2 : 0) | (r.tcpKeepAlive ? 4 : 0))
        for s in [r.username, r.password, r.tls.clientCert, r.tls.clientKey, r.tls.caPath, r.tls.caCertFile] { w.optional(s) }
        return w.bytes
    }

    init(claim: HTTPQueryTable.Claim, transaction: TransactionID?, route: Int, request: HTTPRequest) {
        self.claim = claim
        self.transaction = transaction
        self.route = route
        self.request = request
    }

    /// nil when the payload is not one `encoded()` wrote.
    init?(decoding bytes: [UInt8]) {
        var r = PayloadReader(bytes: bytes)
        guard let index = r.u64(), let id = r.u64(), let tx = r.u64(), let route = r.u64(),
              let url = r.string(), let method = r.optional() else { return nil }
        claim = HTTPQueryTable.Claim(index: UInt32(truncatingIfNeeded: index), id: id)
        transaction = tx == 0 ? nil : TransactionID(index: UInt32(truncatingIfNeeded: tx >> 32), label: UInt32(truncatingIfNeeded: tx))
        self.route = Int(Int64(bitPattern: route))
        var request = HTTPRequest(url: url)
        request.method = method
        guard let headerCount = r.u64(), headerCount < 10_000 else { return nil }
        for _ in 0..<headerCount {
            guard let h = r.string() else { return nil }
            request.headers.append(h)
        }
        guard let body = r.optional() else { return nil }
        request.body = body.map { Array($0.utf8) }
        var numbers: [Int] = []
        for _ in 0..<8 {
            guard let n = r.u64() else { return nil }
            numbers.append(Int(Int64(bitPattern: n)))
        }
        (request.timeoutMs, request.connectTimeoutMs, request.maxDataSize) = (numbers[0], numbers[1], numbers[2])
        (request.authMethod, request.tls.verifyHost, request.tls.version) = (numbers[3], numbers[4], numbers[5])
        (request.tcpKeepIdle, request.tcpKeepInterval) = (numbers[6], numbers[7])
        guard let bits = r.u64() else { return nil }
        request.followRedirects = bits & 1 != 0
        request.tls.verifyPeer = bits & 2 != 0
        request.tcpKeepAlive = bits & 4 != 0
        var strings: [String?] = []
        for _ in 0..<6 {
            guard let s = r.optional() else { return nil }
            strings.append(s)
        }
        (request.username, request.password, request.tls.clientCert) = (strings[0], strings[1], strings[2])
        (request.tls.clientKey, request.tls.caPath, request.tls.caCertFile) = (strings[3], strings[4], strings[5])
        guard r.atEnd else { return nil }
        self.request = request
    }
}

/// Little-endian words and length-prefixed strings.
struct PayloadWriter {
    var bytes: [UInt8] = []

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    /// A string or nothing: a flag word, then the string when present.
    mutating func optional(_ s: String?) {
        u64(s == nil ? 0 : 1)
        if let s { string(s) }
    }
}

struct PayloadReader {
    let bytes: [UInt8]
    var position = 0

    var atEnd: Bool { position == bytes.count }

    mutating func u64() -> UInt64? {
        guard bytes.count - position >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return v
    }

    mutating func string() -> String? {
        guard let n = u64(), n <= UInt64(bytes.count - position) else { return nil }
        let s = String(decoding: bytes[position..<(position + Int(n))], as: UTF8.self)
        position += Int(n)
        return s
    }

    /// .some(nil) for an absent string, nil for a malformed payload.
    mutating func optional() -> String?? {
        guard let flag = u64() else { return nil }
        if flag == 0 { return .some(nil) }
        guard let s = string() else { return nil }
        return .some(s)
    }
}
