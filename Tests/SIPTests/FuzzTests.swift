import Testing
@testable import SIP

/// Mutated and hostile input: nothing may trap, and the work stays bounded.
@Suite struct FuzzTests {
    /// Everything a server does with an input, so a trap anywhere shows.
    func exercise(_ bytes: [UInt8]) {
        _ = TransactionKey.fast(bytes)
        let m: SIPMessage?
        do {
            m = try SIPMessage.parse(bytes)
        } catch {
            m = error.partial
            _ = error.replyReason
        }
        guard let m else { return }
        _ = try? m.contact
        _ = try? m.routes
        _ = try? m.recordRoutes
        _ = try? m.contentType
        _ = m.requestURI
        _ = m.from.uri
        _ = m.to.displayName
        _ = m.topVia.rport
        _ = m.headerValues("Via")
        _ = m.isRequest ? TransactionKey(request: m) : TransactionKey(response: m)
        var out = MessageBuffer()
        if m.isRequest {
            ReplyBuilder.reply(to: m, status: 400, reason: "Bad", into: &out)
            try? ForwardBuilder.forward(m, via: ViaSentBy(host: "p.example.com"), into: &out)
            try? ClientRequestBuilder.cancel(for: m, into: &out)
        }
    }

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
        for sample in [Sample.invite, Sample.options, try Fixture.rfc4475("wsinv"), try Fixture.rfc4475("intmeth")] {
            for cut in 0...sample.count { exercise(Array(sample[0..<cut])) }
        }
    }

    @Test func randomByteFlips() throws {
        var rng = Rng(s: 0x9E37_79B9_7F4A_7C15)
        let samples = try [Sample.invite, Sample.options] + Fixture.allRFC4475.prefix(20).map { try Fixture.rfc4475($0) }
        let interesting: [UInt8] = [0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 62, 64, 91, 93, 92, 255]
        for _ in 0..<3000 {
            var b = samples[rng.below(samples.count)]
            for _ in 0..<(1 + rng.below(6)) where !b.isEmpty {
                let at = rng.below(b.count)
                b[at] = rng.below(2) == 0 ? interesting[rng.below(interesting.count)] : UInt8(truncatingIfNeeded: rng.next())
            }
            exercise(b)
        }
    }

    @Test func randomBytes() {
        var rng = Rng(s: 12345)
        for _ in 0..<500 {
            exercise((0..<rng.below(2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        // Random text with line structure, closer to what a parser expects.
        let alphabet = Array("INVITE SIP/2.0 sip:a@b;tag=x\r\nVia: ,;<>\"\\:=".utf8)
        for _ in 0..<1000 {
            exercise((0..<rng.below(600)).map { _ in alphabet[rng.below(alphabet.count)] })
        }
    }

    @Test func hugeInputs() throws {
        let head = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
            "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
        // 70000 bytes: over the limit, refused up front.
        var big = Array(head.utf8)
        big += Array(repeating: UInt8(ascii: "a"), count: 70000 - big.count)
        #expect(throws: SIPParseError.self) { try SIPMessage.parse(big) }
        #expect(TransactionKey.fast(big) == nil)

        // One 60000-byte header: too long, answerable (the essentials are fine).
        let long = Array((head + "X-Long: " + String(repeating: "v", count: 60000) + "\r\n\r\n").utf8)
        do {
            _ = try SIPMessage.parse(long)
            Issue.record("long header accepted")
        } catch {
            #expect(error.kind == .lineTooLong)
            #expect(error.answerable)
        }
        exercise(long)

        // 10000 headers (fits in 65535 bytes with short lines): refused, bounded.
        let many = Array((head + String(repeating: "A:b\r\n", count: 10000) + "\r\n").utf8)
        #expect(many.count < 65535)
        do {
            _ = try SIPMessage.parse(many)
            Issue.record("10000 headers accepted")
        } catch {
            #expect(error.kind == .tooManyHeaders)
        }
        exercise(many)

        // A huge folded header and endless Via list.
        exercise(Array((head + "Subject: a" + String(repeating: "\r\n b", count: 15000) + "\r\n\r\n").utf8))
        exercise(Array((head + "Via: " + String(repeating: "SIP/2.0/UDP h,", count: 4000) + "\r\n\r\n").utf8))
        exercise(Array((head + "Contact: " + String(repeating: "<sip:a@b>,", count: 6000) + "\r\n\r\n").utf8))
        exercise(Array(repeating: 13, count: 65535))
        exercise(Array(repeating: 10, count: 65535))
        exercise(Array((head + "Content-Length: 99999999999999999999\r\n\r\n").utf8))
    }
}
