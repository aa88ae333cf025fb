import Shared
import Testing
@testable import Runtime

/// The DNS wire codec: round trips of every record type the resolver reads, with and
/// without name compression, and malformed datagrams, which must be errors, never traps.
@Suite struct DNSMessageTests {
    static func sample() -> DNSMessage {
        var m = DNSMessage(id: 0xBEEF, questions: [.init(name: "_sip._udp.example.test", type: DNSCacheRecord.typeSRV)])
        m.isResponse = true
        m.authoritative = true
        m.recursionAvailable = true
        m.answers = [
            .init(name: "_sip._udp.example.test", type: DNSCacheRecord.typeSRV, ttl: 300,
                  data: .srv(priority: 10, weight: 60, port: 5070, target: "a.example.test")),
            .init(name: "_sip._udp.example.test", type: DNSCacheRecord.typeSRV, ttl: 300,
                  data: .srv(priority: 20, weight: 0, port: 5080, target: "b.example.test")),
            .init(name: "alias.example.test", type: DNSCacheRecord.typeCNAME, ttl: 30, data: .cname("a.example.test")),
            .init(name: "example.test", type: DNSCacheRecord.typeNAPTR, ttl: 60,
                  data: .naptr(order: 10, preference: 5, flags: "s", service: "SIP+D2U", regexp: "",
                               replacement: "_sip._udp.example.test")),
        ]
        m.additional = [
            .init(name: "a.example.test", type: DNSCacheRecord.typeA, ttl: 60, data: .address([127, 0, 0, 1])),
            .init(name: "a.example.test", type: DNSCacheRecord.typeAAAA, ttl: 60,
                  data: .address([UInt8](repeating: 0, count: 15) + [1])),
        ]
        return m
    }

    @Test func roundTripsWithAndWithoutCompression() throws {
        let m = Self.sample()
        let compressed = try m.encoded(compress: true)
        let plain = try m.encoded(compress: false)
        #expect(compressed.count < plain.count)
        #expect(try DNSMessage.parse(compressed) == m)
        #expect(try DNSMessage.parse(plain) == m)
    }

    @Test func queryHasOneQuestionAndRecursionDesired() throws {
        let bytes = try DNSMessage.query(id: 7, name: "service.test", type: DNSCacheRecord.typeA).encoded()
        #expect(bytes.count == 12 + 14 + 4)
        #expect(bytes[2] & 0x01 == 0x01) // RD
        let back = try DNSMessage.parse(bytes)
        #expect(back.questions == [.init(name: "service.test", type: 1)])
        #expect(!back.isResponse)
    }

    @Test func unencodableNamesAreRefused() {
        #expect(throws: DNSWireError.self) { try DNSMessage.query(id: 1, name: String(repeating: "a", count: 64) + ".test", type: 1).encoded() }
        #expect(throws: DNSWireError.self) { try DNSMessage.query(id: 1, name: "a..b", type: 1).encoded() }
        let long = Array(repeating: String(repeating: "a", count: 60), count: 5).joined(separator: ".")
        #expect(throws: DNSWireError.self) { try DNSMessage.query(id: 1, name: long, type: 1).encoded() }
    }

    /// Every prefix of a valid answer: an error or (for the header-complete prefixes a
    /// count allows) a message, never a trap.
    @Test func everyTruncationIsAnError() throws {
        let bytes = try Self.sample().encoded()
        for n in 0..<bytes.count {
            #expect(throws: DNSWireError.self) { try DNSMessage.parse(Array(bytes[0..<n])) }
        }
    }

    @Test func truncatedFlagKeepsCompleteRecords() throws {
        var m = Self.sample()
        m.truncated = true
        let bytes = try m.encoded()
        // Cut inside the last additional record.
        let parsed = try DNSMessage.parse(Array(bytes.dropLast(3)))
        #expect(parsed.answers == m.answers)
        #expect(parsed.additional.count == 1)
    }

    @Test func pointerLoopsAndForwardPointersAreErrors() {
        let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        // A question whose name is a pointer to itself.
        #expect(throws: DNSWireError.badPointer(at: 12)) { try DNSMessage.parse(header + [0xC0, 12, 0, 1, 0, 1]) }
        // A pointer forwards.
        #expect(throws: DNSWireError.badPointer(at: 12)) { try DNSMessage.parse(header + [0xC0, 14, 0, 0, 1, 0, 1]) }
        // Two labels pointing at each other.
        let loop: [UInt8] = [1, 0x61, 0xC0, 12]
        #expect(throws: DNSWireError.self) { try DNSMessage.parse(header + loop + [0, 1, 0, 1]) }
        // The reserved label types 0x40 and 0x80.
        #expect(throws: DNSWireError.badLabel(at: 12)) { try DNSMessage.parse(header + [0x41, 0, 0, 1, 0, 1]) }
    }

    @Test func recordDataMustHaveItsTypesShape() throws {
        var good = DNSMessage(id: 1, questions: [])
        good.isResponse = true
        good.answers = [.init(name: "a.test", type: DNSCacheRecord.typeA, ttl: 1, data: .address([1, 2, 3, 4]))]
        var bytes = try good.encoded()
        #expect(try DNSMessage.parse(bytes).answers.count == 1)
        // Claim 5 bytes of data for an A record (and add the byte).
        let lengthAt = bytes.count - 6
        bytes[lengthAt + 1] = 5
        #expect(throws: DNSWireError.self) { try DNSMessage.parse(bytes + [9]) }
        // An SRV whose target runs past its data length.
        var srv = DNSMessage(id: 1, questions: [])
        srv.answers = [.init(name: "s.test", type: DNSCacheRecord.typeSRV, ttl: 1,
                             data: .srv(priority: 1, weight: 1, port: 1, target: "t.test"))]
        var s = try srv.encoded()
        let srvLength = 12 + 8 + 10 // header, owner "s.test", fixed fields
        s[srvLength - 1] = 8 // data length shorter than the target needs
        #expect(throws: DNSWireError.self) { try DNSMessage.parse(s) }
    }

    /// Random damage to a valid answer: whatever comes out, nothing traps.
    @Test func mutatedAnswersNeverTrap() throws {
        let bytes = try Self.sample().encoded()
        var generator = SystemRandomNumberGenerator()
        var parsed = 0
        for _ in 0..<5000 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                b[Int.random(in: 0..<b.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if (try? DNSMessage.parse(b)) != nil { parsed += 1 }
        }
        #expect(parsed < 5000)
    }

    @Test func packedCacheRecordsRoundTrip() {
        let records = Self.sample().answers.compactMap(\.cacheRecord) + Self.sample().additional.compactMap(\.cacheRecord)
        let (bytes, count) = DNSCacheRecord.pack(records, limit: 4096)
        #expect(count == records.count)
        #expect(DNSCacheRecord.unpack(bytes, count: count) == records)
        // A limit cuts at a record boundary; a torn buffer shows fewer records.
        let (cut, n) = DNSCacheRecord.pack(records, limit: 60)
        #expect(n < records.count && DNSCacheRecord.unpack(cut, count: n) == Array(records.prefix(n)))
        #expect(DNSCacheRecord.unpack(bytes.dropLast(2), count: count).count == count - 1)
    }

    @Test func resolvConfReadsServersWithPortsAndOptions() {
        let c = ResolverConfig.parse("""
            # comment
            search example.com
            nameserver 127.0.0.1:5353
            nameserver ::1
            nameserver [::1]:5300
            options ndots:1 timeout:2 attempts:3
            """)
        #expect(c.nameservers.map(\.description) == ["127.0.0.1:5353", "[::1]:53", "[::1]:5300"])
        #expect(c.timeoutSeconds == 2 && c.attempts == 3)
        #expect(ResolverConfig.parse("").nameservers.map(\.description) == ["127.0.0.1:53"])
    }
}
