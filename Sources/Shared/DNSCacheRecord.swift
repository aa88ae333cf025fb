/// One resource record as the DNS cache keeps it: the parsed form of an answer's A,
/// AAAA, SRV, NAPTR or CNAME record, with its TTL.
///
/// The cache (cs_dnscache.h) stores an entry's records as bytes in this file's format, so
/// that the server and `respite-shm` read them the same way: per record a type (u16), a
/// TTL (u32) and a payload length (u16), big-endian, then the payload. Decoding is bounds
/// checked: bytes that do not parse end the list (a torn read shows fewer records, never
/// a crash).
public struct DNSCacheRecord: Sendable, Hashable, Codable {
    public enum Data: Sendable, Hashable, Codable {
        /// 4 (A) or 16 (AAAA) address bytes in network order.
        case address([UInt8])
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        case naptr(order: UInt16, preference: UInt16, flags: String, service: String, regexp: String,
                   replacement: String)
        case cname(String)
    }

    public static let typeA: UInt16 = 1
    public static let typeCNAME: UInt16 = 5
    public static let typeAAAA: UInt16 = 28
    public static let typeSRV: UInt16 = 33
    public static let typeNAPTR: UInt16 = 35

    public var type: UInt16
    public var ttl: UInt32
    public var data: Data

    public init(type: UInt16, ttl: UInt32, data: Data) {
        self.type = type
        self.ttl = ttl
        self.data = data
    }

    /// The record as a zone file would show its data (`10 60 5060 a.example`).
    public var text: String {
        switch data {
        case .address(let b) where b.count == 4: return b.map(String.init).joined(separator: ".")
        case .address(let b):
            return stride(from: 0, to: b.count, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        case .srv(let p, let w, let port, let target): return "\(p) \(w) \(port) \(target)"
        case .naptr(let o, let p, let f, let s, let r, let repl): return "\(o) \(p) \"\(f)\" \"\(s)\" \"\(r)\" \(repl)"
        case .cname(let name): return name
        }
    }

    public static func typeName(_ type: UInt16) -> String {
        switch type {
        case typeA: return "A"
        case typeAAAA: return "AAAA"
        case typeSRV: return "SRV"
        case typeNAPTR: return "NAPTR"
        case typeCNAME: return "CNAME"
        default: return "TYPE\(type)"
        }
    }

    /// Appends the record's packed form to `out`.
    public func pack(into out: inout [UInt8]) {
        var payload: [UInt8] = []
        func u16(_ v: UInt16) { payload += [UInt8(v >> 8), UInt8(v & 0xff)] }
        func short(_ s: String) {
            let b = Array(s.utf8.prefix(255))
            payload.append(UInt8(b.count))
            payload += b
        }
        switch data {
        case .address(let b): payload = b
        case .srv(let p, let w, let port, let target):
            u16(p); u16(w); u16(port)
            payload += Array(target.utf8)
        case .naptr(let o, let p, let f, let s, let r, let repl):
            u16(o); u16(p)
            short(f); short(s); short(r)
            payload += Array(repl.utf8)
        case .cname(let name): payload = Array(name.utf8)
        }
        out += [UInt8(type >> 8), UInt8(type & 0xff)]
        out += [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff)]
        let n = UInt16(clamping: payload.count)
        out += [UInt8(n >> 8), UInt8(n & 0xff)]
        out += payload.prefix(Int(n))
    }

    /// Packs as many of `records` as fit in `limit` bytes: the bytes and how many.
    public static func pack(_ records: [DNSCacheRecord], limit: Int) -> (bytes: [UInt8], count: Int) {
        var out: [UInt8] = []
        var count = 0
        for r in records {
            var one: [UInt8] = []
            r.pack(into: &one)
            guard out.count + one.count <= limit else { break }
            out += one
            count += 1
        }
        return (out, count)
    }

    /// Decodes packed records; stops at the first that does not parse.
    public static func unpack(_ bytes: some Collection<UInt8>, count: Int) -> [DNSCacheRecord] {
        let b = Array(bytes)
        var at = 0, out: [DNSCacheRecord] = []
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        while out.count < count, at + 8 <= b.count {
            let type = u16(at)
            let ttl = UInt32(u16(at + 2)) << 16 | UInt32(u16(at + 4))
            let n = Int(u16(at + 6))
            let start = at + 8, end = start + n
            guard end <= b.count else { break }
            let p = Array(b[start..<end])
            let data: Data
            switch type {
            case typeA, typeAAAA:
                guard p.count == (type == typeA ? 4 : 16) else { return out }
                data = .address(p)
            case typeSRV:
                guard p.count >= 6 else { return out }
                data = .srv(priority: UInt16(p[0]) << 8 | UInt16(p[1]), weight: UInt16(p[2]) << 8 | UInt16(p[3]),
                            port: UInt16(p[4]) << 8 | UInt16(p[5]), target: String(decoding: p[6...], as: UTF8.self))
            case typeNAPTR:
                var i = 4
                func short() -> String? {
                    guard i < p.count, i + 1 + Int(p[i]) <= p.count else { return nil }
                    defer { i += 1 + Int(p[i]) }
                    return String(decoding: p[(i + 1)..<(i + 1 + Int(p[i]))], as: UTF8.self)
                }
                guard p.count >= 4, let f = short(), let s = short(), let r = short() else { return out }
                data = .naptr(order: UInt16(p[0]) << 8 | UInt16(p[1]), preference: UInt16(p[2]) << 8 | UInt16(p[3]),
                              flags: f, service: s, regexp: r, replacement: String(decoding: p[i...], as: UTF8.self))
            case typeCNAME:
                data = .cname(String(decoding: p, as: UTF8.self))
            default:
                return out
            }
            out.append(DNSCacheRecord(type: type, ttl: ttl, data: data))
            at = end
        }
        return out
    }
}
