import Testing
@testable import SIP

@Suite struct TransactionKeyTests {
    @Test func retransmissionSameKey() throws {
        let a = try SIPMessage.parse(Sample.invite)
        let b = try SIPMessage.parse(Sample.invite)
        #expect(TransactionKey(request: a) == TransactionKey(request: b))
        #expect(TransactionKey(request: a).hash == TransactionKey(request: b).hash)
        #expect(TransactionKey(request: a).isRFC3261)
    }

    @Test func differentBranchDifferentKey() throws {
        let a = try SIPMessage.parse(Sample.invite)
        let text = String(decoding: Sample.invite, as: UTF8.self).replacingOccurrences(of: "z9hG4bK776asdhds", with: "z9hG4bK776asdhdt")
        let b = try SIPMessage.parse(Array(text.utf8))
        #expect(TransactionKey(request: a) != TransactionKey(request: b))
    }

    @Test func ackAndCancelKeys() throws {
        let inv = try SIPMessage.parse(Sample.invite)
        let text = String(decoding: Sample.invite, as: UTF8.self)
        let ack = try SIPMessage.parse(Array(text.replacingOccurrences(of: "INVITE", with: "ACK").utf8))
        let cancel = try SIPMessage.parse(Array(text.replacingOccurrences(of: "INVITE", with: "CANCEL").utf8))
        let k = TransactionKey(request: inv)
        #expect(TransactionKey(request: ack) == k)
        #expect(TransactionKey(request: cancel) != k)
        #expect(TransactionKey(request: cancel).inviteKey == k)
        #expect(k.inviteKey == k)
    }

    @Test func rfc2543Fallback() throws {
        let inv = try SIPMessage.parse(try Fixture.rfc4475("inv2543"))
        let k = TransactionKey(request: inv)
        #expect(!k.isRFC3261)
        #expect(TransactionKey(request: try SIPMessage.parse(try Fixture.rfc4475("inv2543"))) == k)
        // An ACK of 2543 style carries our To tag but still finds the INVITE.
        let text = String(decoding: try Fixture.rfc4475("inv2543"), as: UTF8.self)
            .replacingOccurrences(of: "INVITE", with: "ACK")
            .replacingOccurrences(of: "user=phone\r\nCall-ID", with: "user=phone;tag=ours\r\nCall-ID")
        let ack = try SIPMessage.parse(Array(text.utf8))
        #expect(ack.to.tag == "ours")
        #expect(TransactionKey(request: ack) == k)
        #expect(TransactionKey.fast(try Fixture.rfc4475("inv2543"))?.key == k)
        let bad = try SIPMessage.parse(try Fixture.rfc4475("badbranch"))
        #expect(!TransactionKey(request: bad).isRFC3261)
    }

    @Test func responseMatchesClientKey() throws {
        let rep = try SIPMessage.parse(Sample.response("486 Busy Here", toTag: "x"))
        #expect(TransactionKey(response: rep) == TransactionKey.client(branch: "z9hG4bK776asdhds", method: .invite))
        let cancelRep = try SIPMessage.parse(Sample.response("200 OK", toTag: "x", method: "CANCEL"))
        #expect(TransactionKey(response: cancelRep) != TransactionKey(response: rep))
        #expect(TransactionKey.fast(Sample.response("486 Busy Here", toTag: "x"))?.key == TransactionKey(response: rep))
        #expect(TransactionKey.fast(Sample.response("486 Busy Here", toTag: "x"))?.statusCode == 486)
    }

    @Test func fastPathAgreesWithFullParse() throws {
        for bytes in [Sample.invite, Sample.options] {
            let full = TransactionKey(request: try SIPMessage.parse(bytes))
            let fast = try #require(TransactionKey.fast(bytes))
            #expect(fast.key == full)
            #expect(fast.isRequest)
        }
        for name in Fixture.allRFC4475 {
            let bytes = try Fixture.rfc4475(name)
            guard let m = try? SIPMessage.parse(bytes) else { continue }
            let full = m.isRequest ? TransactionKey(request: m) : TransactionKey(response: m)
            #expect(TransactionKey.fast(bytes)?.key == full, "\(name)")
        }
    }

    @Test func hashIsStable() throws {
        // Fixed values: FNV-1a is seedless, so these hold in every process and run.
        #expect(TransactionKey.fnv1a([]) == 0xcbf2_9ce4_8422_2325)
        #expect(TransactionKey.fnv1a(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        let k = TransactionKey(request: try SIPMessage.parse(Sample.options))
        #expect(k.hash == TransactionKey.fnv1a(k.bytes))
        #expect(k.hash == 2_513_282_091_292_837_037)
        #expect(k.hash32 == UInt32(truncatingIfNeeded: k.hash ^ (k.hash >> 32)))
    }
}
