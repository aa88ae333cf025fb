import Shared

/// A DNS message (RFC 1035 section 4) as the resolver sends and reads it: header,
/// questions and the three record sections. Records of the types the resolver uses (A,
/// AAAA, SRV, NAPTR, CNAME) are parsed into `DNSCacheRecord.Data`; others keep only
/// their owner, type and TTL.
///
/// `parse` checks every length and offset against the datagram: a malformed answer is a
/// `DNSWireError`, never a trap. Compression pointers must point backwards (so a
/// pointer loop cannot be followed forever), names are at most 255 bytes and labels 63.
struct DNSMessage: Sendable, Equatable {
    struct Question: Sendable, Equatable {
        var name: String
        var type: UInt16
        var qclass: UInt16 = 1
    }

    struct Record: Sendable, Equatable {
        var name: String
        var type: UInt16
        var qclass: UInt16 = 1
        var ttl: UInt32
        /// nil for a type the resolver does not use.
        var data: DNSCacheRecord.Data?

        var cacheRecord: DNSCacheRecord? { data.map { DNSCacheRecord(type: type, ttl: ttl, data: $0) } }
    }

    var id: UInt16
    var isResponse = false
    var opcode: UInt8 = 0
    var authoritative = false
    var truncated = false
    var recursionDesired = true
    var recursionAvailable = false
    /// 0 no error, 1 format error, 2 server failure, 3 no such name, 4 not implemented, 5 refused.
    var rcode: UInt8 = 0
    var questions: [Question] = []
    var answers: [Record] = []
    var authority: [Record] = []
    var additional: [Record] = []

    static let noSuchName: UInt8 = 3

    /// A standard recursive query for one question.
    static func query(id: UInt16, name: String, type: UInt16) -> DNSMessage {
        DNSMessage(id: id, questions: [Question(name: name, type: type)])
    }
}

enum DNSWireError: Error, Equatable, CustomStringConvertible {
    /// The datagram ends inside a field.
    case truncated(at: Int)
    /// A compression pointer that points at or after itself, or outside the message.
    case badPointer(at: Int)
    /// A label type other than a length or a pointer (the 0x40 and 0x80 forms).
    case badLabel(at: Int)
    case nameTooLong(at: Int)
    /// A record whose data does not have its type's shape.
    case badRecordData(type: UInt16, at: Int)
    /// A name to encode that DNS cannot carry (empty label, label over 63 bytes, over 255).
    case unencodableName(String)

    var description: String {
        switch self {
        case .truncated(let at): return "message truncated at byte \(at)"
        case .badPointer(let at): return "bad compression pointer at byte \(at)"
        case .badLabel(let at): return "bad label type at byte \(at)"
        case .nameTooLong(let at): return "name longer than 255 bytes at byte \(at)"
        case .badRecordData(let type, let at): return "malformed \(DNSCacheRecord.typeName(type)) data at byte \(at)"
        case .unencodableName(let name): return "cannot encode the name '\(name)'"
        }
    }
}

// MARK: - Encoding

extension DNSMessage {
    /// The wire form. Names are compressed against earlier names when `compress`.
    func encoded(compress: Bool = true) throws(DNSWireError) -> [UInt8] {
        var w = DNSWriter(compress: compress)
        w.u16(id)
        var flags: UInt16 = isResponse ? 0x8000 : 0
        flags |= UInt16(opcode & 0xF) << 11
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(rcode & 0xF)
        w.u16(flags)
        for n in [questions.count, answers.count, authority.count, additional.count] { w.u16(UInt16(clamping: n)) }
        for q in questions {
            try w.name(q.name)
            w.u16(q.type)
            w.u16(q.qclass)
        }
        for r in answers + authority + additional { try w.record(r) }
        return w.bytes
    }
}

struct DNSWriter {
    var bytes: [UInt8] = []
    let compress: Bool
    /// Offsets of names already written, by their lower-cased text (for compression).
    var written: [String: Int] = [:]

    init(compress: Bool) { self.compress = compress }

    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }

    mutating func name(_ text: String) throws(DNSWireError) {
        var labels = text.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        if labels.last?.isEmpty == true { labels.removeLast() } // a final dot
        if text == "." || text.isEmpty { labels = [] }
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 }),
              labels.reduce(1, { $0 + $1.count + 1 }) <= 255 else { throw .unencodableName(text) }
        for i in labels.indices {
            let suffix = labels[i...].map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".").lowercased()
            if compress, let at = written[suffix] {
                u16(0xC000 | UInt16(at))
                return
            }
            if bytes.count < 0x3FFF { written[suffix] = bytes.count }
            bytes.append(UInt8(labels[i].count))
            bytes += labels[i]
        }
        bytes.append(0)
    }

    mutating func record(_ r: DNSMessage.Record) throws(DNSWireError) {
        try name(r.name)
        u16(r.type)
        u16(r.qclass)
        u32(r.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch r.data {
        case .address(let b)?: bytes += b
        case .srv(let p, let w, let port, let target)?:
            u16(p); u16(w); u16(port)
            // RFC 2782: the target is not compressed.
            var plain = DNSWriter(compress: false)
            try plain.name(target)
            bytes += plain.bytes
        case .naptr(let o, let p, let f, let s, let re, let repl)?:
            u16(o); u16(p)
            for text in [f, s, re] {
                let b = Array(text.utf8.prefix(255))
                bytes.append(UInt8(b.count))
                bytes += b
            }
            var plain = DNSWriter(compress: false)
            try plain.name(repl)
            bytes += plain.bytes
        case .cname(let target)?: try name(target)
        case nil: break
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}
