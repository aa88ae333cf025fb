import Shared

extension DNSMessage {
    /// Parses a datagram. Every read is bounds checked; see `DNSWireError`.
    static func parse(_ bytes: [UInt8]) throws(DNSWireError) -> DNSMessage {
        var r = DNSReader(bytes: bytes)
        let id = try r.u16()
        let flags = try r.u16()
        let counts = [try r.u16(), try r.u16(), try r.u16(), try r.u16()]
        var m = DNSMessage(id: id)
        m.isResponse = flags & 0x8000 != 0
        m.opcode = UInt8((flags >> 11) & 0xF)
        m.authoritative = flags & 0x0400 != 0
        m.truncated = flags & 0x0200 != 0
        m.recursionDesired = flags & 0x0100 != 0
        m.recursionAvailable = flags & 0x0080 != 0
        m.rcode = UInt8(flags & 0xF)
        for _ in 0..<counts[0] {
            let name = try r.name()
            m.questions.append(Question(name: name, type: try r.u16(), qclass: try r.u16()))
        }
        // A truncated answer (TC) may end inside a record: keep what was complete.
        func section(_ count: UInt16) throws(DNSWireError) -> [Record] {
            var out: [Record] = []
            for _ in 0..<count {
                let start = r.at
                do {
                    out.append(try r.record())
                } catch {
                    if m.truncated, case .truncated = error {
                        r.at = start
                        r.exhausted = true
                        return out
                    }
                    throw error
                }
                if r.exhausted { break }
            }
            return out
        }
        m.answers = try section(counts[1])
        if !r.exhausted { m.authority = try section(counts[2]) }
        if !r.exhausted { m.additional = try section(counts[3]) }
        return m
    }
}

/// A bounds-checked cursor over a DNS message.
struct DNSReader {
    let bytes: [UInt8]
    var at = 0
    /// A truncated message ended inside a record: nothing more is read.
    var exhausted = false

    mutating func u8() throws(DNSWireError) -> UInt8 {
        guard at < bytes.count else { throw .truncated(at: at) }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u16() throws(DNSWireError) -> UInt16 {
        guard at + 2 <= bytes.count else { throw .truncated(at: at) }
        defer { at += 2 }
        return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    mutating func u32() throws(DNSWireError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ n: Int) throws(DNSWireError) -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= bytes.count else { throw .truncated(at: at) }
        defer { at += n }
        return bytes[at..<(at + n)]
    }

    /// A possibly compressed name at the cursor; the cursor ends after its last byte in
    /// place (after the first pointer, if any). Text is the labels joined by dots,
    /// without a final dot ("" for the root).
    mutating func name() throws(DNSWireError) -> String {
        var labels: [String] = []
        var length = 1
        var position = at
        var resumeAt: Int?
        // Each pointer must go strictly backwards, so the walk ends.
        var limit = position
        while true {
            guard position < bytes.count else { throw .truncated(at: position) }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    at = resumeAt ?? position + 1
                    return labels.joined(separator: ".")
                }
                let n = Int(byte)
                guard position + 1 + n <= bytes.count else { throw .truncated(at: position) }
                length += n + 1
                guard length <= 255 else { throw .nameTooLong(at: position) }
                labels.append(String(decoding: bytes[(position + 1)..<(position + 1 + n)], as: UTF8.self))
                position += 1 + n
            case 0xC0:
                guard position + 2 <= bytes.count else { throw .truncated(at: position) }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < limit, target < position else { throw .badPointer(at: position) }
                if resumeAt == nil { resumeAt = position + 2 }
                limit = target
                position = target
            default:
                throw .badLabel(at: position)
            }
        }
    }

    mutating func record() throws(DNSWireError) -> DNSMessage.Record {
        let owner = try name()
        let type = try u16()
        let qclass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let start = at
        guard start + length <= bytes.count else { throw .truncated(at: start) }
        let end = start + length
        var data: DNSCacheRecord.Data?
        switch type {
        case DNSCacheRecord.typeA, DNSCacheRecord.typeAAAA:
            guard length == (type == DNSCacheRecord.typeA ? 4 : 16) else { throw .badRecordData(type: type, at: start) }
            data = .address(Array(try take(length)))
        case DNSCacheRecord.typeSRV:
            guard length >= 7 else { throw .badRecordData(type: type, at: start) }
            let p = try u16(), w = try u16(), port = try u16()
            let target = try name()
            data = .srv(priority: p, weight: w, port: port, target: target)
        case DNSCacheRecord.typeNAPTR:
            let o = try u16(), p = try u16()
            var texts: [String] = []
            for _ in 0..<3 {
                let n = Int(try u8())
                guard at + n <= end else { throw .badRecordData(type: type, at: at) }
                texts.append(String(decoding: try take(n), as: UTF8.self))
            }
            let replacement = try name()
            data = .naptr(order: o, preference: p, flags: texts[0], service: texts[1], regexp: texts[2],
                          replacement: replacement)
        case DNSCacheRecord.typeCNAME:
            data = .cname(try name())
        default:
            at = end
        }
        // The data must fill its length exactly (a name that ran past it is malformed).
        guard at == end else { throw .badRecordData(type: type, at: start) }
        return DNSMessage.Record(name: owner, type: type, qclass: qclass, ttl: ttl, data: data)
    }
}
