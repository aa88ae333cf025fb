import Testing

@testable import Runtime

/// The Authorization value parser, the nonce codec and the digest hashes, on known values.
@Suite struct DigestCredentialsTests {
    @Test func parsesQuotedEscapedAndBareParameters() throws {
        let c = try #require(
            DigestCredentials.parse(
                #"Digest username="o\"ne;two@example.com", realm="r, with comma", nonce="n", uri="sip:a@b", response="abc", algorithm=MD5, qop=auth, nc=0000000a, cnonce="x""#
            ))
        #expect(c.username == #"o"ne;two@example.com"#)
        #expect(c.user == #"o"ne;two"#)
        #expect(c.domain == "example.com")
        #expect(c.realm == "r, with comma")
        #expect(c.ncValue == 10)
        #expect(c.qop == "auth")
        #expect(DigestCredentials.parse("Digest bogus") == nil)
        #expect(DigestCredentials.parse(#"Basic dXNlcjpwYXNz"#) == nil)
        #expect(DigestCredentials.parse(#"Digest username="a", realm="r", nonce="n", uri="u""#) == nil, "no response")
        #expect(
            DigestCredentials.parse(#"Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x""#)
                == nil)
        #expect(DigestCredentials.parse(#"Digest username="a, realm="r""#) == nil, "unterminated quote")
    }

    @Test func responsesMatchRFC2617() {
        // RFC 2617 3.5's example.
        let ha1 = DigestHash.ha1(.md5, user: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life")
        let r = DigestHash.response(
            .md5, ha1: ha1, nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", method: "GET", uri: "/dir/index.html",
            qop: "auth", nc: "00000001", cnonce: "0a4f113b")
        #expect(r == "6629fae49393a05397450978507c4ef1")
        #expect(DigestAlgorithm.sha256.hex("").hasPrefix("e3b0c442"))
    }

    @Test func noncesAreSignedAndExpire() throws {
        var s = AuthSettings(.init())
        s.secret = "shared secret"
        let codec = try #require(NonceCodec(settings: s, table: nil))
        let nonce = codec.issue(now: 1_000, expire: 300)
        #expect(nonce.count == 40)
        #expect(codec.check(nonce, now: 1_100, expire: 300, maxDrift: 3) == .valid(id: 0))
        #expect(codec.check(nonce, now: 1_301, expire: 300, maxDrift: 3) == .stale)
        #expect(codec.check(nonce, now: 990, expire: 300, maxDrift: 3) == .stale, "issued 10 s in the future")
        var bytes = try #require(Base64.decode(nonce))
        bytes[3] ^= 1
        #expect(codec.check(Base64.encode(bytes), now: 1_100, expire: 300, maxDrift: 3) == .invalid)
        #expect(codec.check("not base64!", now: 1_100, expire: 300, maxDrift: 3) == .invalid)
        s.secret = "another"
        #expect(NonceCodec(settings: s, table: nil)?.check(nonce, now: 1_100, expire: 300, maxDrift: 3) == .invalid)
        #expect(Base64.decode(Base64.encode([1, 2, 3, 4])) == [1, 2, 3, 4])
    }
}
