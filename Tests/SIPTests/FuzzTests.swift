import Testing
@testable import SIP

/// Mutated and hostile input: every input ends as a parsed message or a typed
/// `SIPParseError` consistent with it; a parsed message re-serialised, and what the server
/// builds from it, parse back to equivalent messages (`FuzzInvariants`); nothing traps and
/// the work stays bounded. Every generator is seeded, so a failure reproduces.
@Suite struct FuzzTests {
    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s ^= s << 13
            s ^= s >> 7
            s ^= s << 17
            return s
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    @Test func truncationAtEveryOffset() throws {
        var check = FuzzInvariants()
        for sample in [Sample.invite, Sample.options, try Fixture.rfc4475("wsinv"), try Fixture.rfc4475("intmeth")] {
            #expect((try? SIPMessage.parse(sample)) != nil, "the whole sample parses")
            for cut in 0...sample.count { check.check(Array(sample[0..<cut])) }
        }
        check.expectClean("truncations")
        #expect(check.parsed >= 4 && check.refused > 0 && check.answerable > 0, "both outcomes seen: \(check.parsed) parsed, \(check.refused) refused")
    }

    @Test func randomByteFlips() throws {
        var rng = Rng(s: 0x9E37_79B9_7F4A_7C15)
        var check = FuzzInvariants()
        let samples = try [Sample.invite, Sample.options] + Fixture.allRFC4475.prefix(20).map { try Fixture.rfc4475($0) }
        let interesting: [UInt8] = [0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 62, 64, 91, 93, 92, 255]
        for _ in 0..<3000 {
            var b = samples[rng.below(samples.count)]
            for _ in 0..<(1 + rng.below(6)) where !b.isEmpty {
                let at = rng.below(b.count)
                b[at] = rng.below(2) == 0 ? interesting[rng.below(interesting.count)] : UInt8(truncatingIfNeeded: rng.next())
            }
            check.check(b)
        }
        check.expectClean("byte flips")
        #expect(check.inputs == 3000)
        #expect(check.parsed > 100 && check.refused > 100 && check.answerable > 10,
                "the flips reach every outcome: \(check.parsed) parsed, \(check.refused) refused, \(check.answerable) answerable")
    }

    @Test func randomBytes() {
        var rng = Rng(s: 12345)
        var check = FuzzInvariants()
        for _ in 0..<500 {
            check.check((0..<rng.below(2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        // Random text with line structure, closer to what a parser expects.
        let alphabet = Array("INVITE SIP/2.0 sip:a@b;tag=x\r\nVia: ,;<>\"\\:=".utf8)
        for _ in 0..<1000 {
            check.check((0..<rng.below(600)).map { _ in alphabet[rng.below(alphabet.count)] })
        }
        check.expectClean("random bytes")
        #expect(check.inputs == 1500)
    }

    @Test func hugeInputs() throws {
        var check = FuzzInvariants()
        let head = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
            "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
        // 70000 bytes: over the limit, refused up front.
        var big = Array(head.utf8)
        big += Array(repeating: UInt8(ascii: "a"), count: 70000 - big.count)
        #expect(throws: SIPParseError.self) { try SIPMessage.parse(big) }
        #expect(TransactionKey.fast(big) == nil)
        check.check(big)

        // One 60000-byte header: too long, answerable (the essentials are fine).
        let long = Array((head + "X-Long: " + String(repeating: "v", count: 60000) + "\r\n\r\n").utf8)
        do {
            _ = try SIPMessage.parse(long)
            Issue.record("long header accepted")
        } catch {
            #expect(error.kind == .lineTooLong)
            #expect(error.answerable)
        }
        check.check(long)

        // 10000 headers (fits in 65535 bytes with short lines): refused, bounded.
        let many = Array((head + String(repeating: "A:b\r\n", count: 10000) + "\r\n").utf8)
        #expect(many.count < 65535)
        do {
            _ = try SIPMessage.parse(many)
            Issue.record("10000 headers accepted")
        } catch {
            #expect(error.kind == .tooManyHeaders)
        }
        check.check(many)

        // A huge folded header and endless Via list.
        check.check(Array((head + "Subject: a" + String(repeating: "\r\n b", count: 15000) + "\r\n\r\n").utf8))
        check.check(Array((head + "Via: " + String(repeating: "SIP/2.0/UDP h,", count: 4000) + "\r\n\r\n").utf8))
        check.check(Array((head + "Contact: " + String(repeating: "<sip:a@b>,", count: 6000) + "\r\n\r\n").utf8))
        check.check(Array(repeating: 13, count: 65535))
        check.check(Array(repeating: 10, count: 65535))
        check.check(Array((head + "Content-Length: 99999999999999999999\r\n\r\n").utf8))
        check.expectClean("huge inputs")
        #expect(check.inputs == 9)
    }
}
