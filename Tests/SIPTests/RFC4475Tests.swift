import Testing
@testable import SIP

/// RFC 4475 section 3: every torture message, with the handling the RFC asks for.
@Suite struct RFC4475Tests {
    func parse(_ name: String) throws -> SIPMessage {
        try SIPMessage.parse(try Fixture.rfc4475(name))
    }

    func failure(_ name: String) throws -> SIPParseError {
        let bytes = try Fixture.rfc4475(name)
        switch Result(catching: { () throws(SIPParseError) in try SIPMessage.parse(bytes) }) {
        case .success:
            Issue.record("\(name) should not parse")
            return SIPParseError(kind: .empty, offset: -1)
        case .failure(let e):
            return e
        }
    }

    @Test func allFixturesPresentAndNoneTraps() throws {
        #expect(Fixture.allRFC4475.count == 49)
        // Each one also satisfies the fuzz invariants (round trips, builders).
        var check = FuzzInvariants()
        for name in Fixture.allRFC4475 {
            check.check(try Fixture.rfc4475(name))
        }
        check.expectClean("RFC 4475 messages")
        #expect(check.inputs == 49)
    }

    // MARK: 3.1.1 valid messages

    @Test func wsinv() throws {
        let m = try parse("wsinv")
        #expect(m.method == .invite)
        #expect(m.requestURI.sipURI?.user == "vivekg")
        #expect(m.requestURI.sipURI?.host == "chair-dnrc.example.com")
        #expect(m.requestURI.sipURI?.params.contains("unknownparam") == true)
        #expect(m.to.tag == "1918181833n")
        #expect(m.from.tag == "98asjd8")
        #expect(m.from.displayName == "J Rosenberg \\\"")
        #expect(m.maxForwards == 68)
        #expect(m.callID == "wsinv.ndaksdj@192.0.2.1")
        #expect(m.cseq.number == 9)
        #expect(m.cseq.method == .invite)
        #expect(m.vias.count == 3)
        #expect(m.topVia.branch == "390skdjuw")
        #expect(m.topVia.transport == "UDP")
        #expect(m.topVia.host == "192.0.2.2")
        #expect(m.vias[1].transport == "TCP")
        #expect(m.vias[1].host == "spindle.example.com")
        #expect(m.vias[1].branch == "z9hG4bK9ikj8")
        #expect(m.vias[2].host == "192.168.255.111")
        #expect(m.vias[2].branch == "z9hG4bK30239")
        #expect(m.contentLength == 150)
        #expect(m.bodyRange.count == 150)
        #expect(m.headerValue("NewFangledHeader") == "newfangled value continued newfangled value")
        #expect(m.headerValue("UnknownHeaderWithUnusualValue") == ";;,,;;,;")
        #expect(m.headerValue("Subject") == "")
        let contacts = try #require(try m.contact).addresses
        #expect(contacts.count == 1)
        #expect(contacts.first?.displayName == "Quoted string \"\"")
        #expect(contacts.first?.params.value("newparam") == "newvalue")
        #expect(contacts.first?.params.value("q") == "0.33")
        #expect(contacts.first?.params.contains("secondparam") == true)
        let routes = try m.routes
        #expect(routes.count == 1)
        #expect(routes.first?.uri.sipURI?.params.contains("lr") == true)
        #expect(routes.first?.uri.sipURI?.params.value("unknownwith") == "value")
        #expect(try m.contentType?.mediaType == "application/sdp")
    }

    @Test func intmeth() throws {
        let m = try parse("intmeth")
        #expect(m.method == .other("!interesting-Method0123456789_*+`.%indeed'~"))
        #expect(m.cseq.method == m.method)
        let uri = try #require(m.requestURI.sipURI)
        #expect(uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.host == "example.com")
        #expect(m.topVia.branch == "z9hG4bK-.!%66*_+`'~")
        #expect(m.callID == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        #expect(m.from.tag == "_token~1'+`*%!-.")
        #expect(m.from.displayName == "token1~` token2'+_ token3*%!.-")
        #expect(m.to.uri.sipURI?.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(m.to.displayName.map { $0.utf8.contains(0) } == true)
        #expect(m.maxForwards == 255)
        #expect(m.headerCount("extensionHeader-!.%*+_`'~") == 1)
        #expect(m.bodyRange.isEmpty)
    }

    @Test func escapes() throws {
        let m = try parse("esc01")
        let ruri = try #require(m.requestURI.sipURI)
        #expect(ruri.user == "sips%3Auser%40example.com")
        #expect(SIPURI.percentDecoded(ruri.user ?? "") == "sips:user@example.com")
        #expect(ruri.host == "example.net")
        #expect(SIPURI.percentDecoded(m.to.uri.sipURI?.user ?? "") == "user")
        #expect(m.callID == "esc01.239409asdfakjkn23onasd0-3234")
        #expect(try m.contentType?.mediaType == "application/sdp")
        let contact = try #require(try m.contact?.addresses.first?.uri.sipURI)
        #expect(contact.params.value("n%61me") == "v%61lue%25%34%31")

        let n = try parse("escnull")
        #expect(n.method == .register)
        let nullUser = SIPURI.percentDecoded(n.to.uri.sipURI?.user ?? "")
        #expect(Array(nullUser.utf8) == Array("null-\u{0}-null".utf8))
        #expect(try n.contact?.addresses.count == 2)
        #expect(n.contentLength == 0)

        let e2 = try parse("esc02")
        #expect(e2.method == .other("RE%47IST%45R"))
        #expect(e2.topVia.branch == "z9hG4bK209%fzsnel234")
        #expect(e2.from.displayName == "%Z%45")
        // C%6Fntact is not Contact: only two Contact fields.
        #expect(try e2.contact?.addresses.count == 2)
        #expect(e2.headerCount("C%6Fntact") == 1)
    }

    @Test func lwsdispLongreqDblreq() throws {
        let l = try parse("lwsdisp")
        #expect(l.from.displayName == "caller")
        #expect(l.from.uri.sipURI?.user == "caller")
        #expect(l.from.tag == "323")

        let long = try parse("longreq")
        #expect(long.method == .invite)
        #expect(long.to.displayName?.hasPrefix("I have a user name of extreme") == true)
        #expect(long.vias.count > 10)
        #expect(long.headerValues("Via").count == long.vias.count)
        #expect(long.contentLength == long.bodyRange.count)
        #expect(long.from.tag?.isEmpty == false)

        let d = try parse("dblreq")
        #expect(d.method == .register)
        #expect(d.contentLength == 0)
        #expect(d.bodyRange.isEmpty)
        #expect(d.callID == "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
        #expect(try d.contact?.addresses.first?.uri.sipURI?.host == "host.example.com")
    }

    @Test func semiuriTransportsMpart() throws {
        let s = try parse("semiuri")
        let u = try #require(s.requestURI.sipURI)
        #expect(u.user == "user;par=u%40example.net")
        #expect(u.host == "example.com")
        #expect(u.params.isEmpty)
        #expect(s.headerValues("Accept").count == 6)

        let t = try parse("transports")
        #expect(t.vias.map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
        #expect(t.vias.map(\.host) == ["t1.example.com", "t2.example.com", "t3.example.com", "t4.example.com", "t5.example.com"])
        #expect(t.callID == "transports.kijh4akdnaqjkwendsasfdj")

        let mp = try parse("mpart01")
        #expect(try mp.contentType?.mediaType == "multipart/mixed")
        #expect(try mp.contentType?.params.value("boundary") != nil)
        #expect(mp.bodyRange.count == mp.contentLength)
    }

    @Test func responsesUnreasonNoreason() throws {
        let u = try parse("unreason")
        #expect(!u.isRequest)
        #expect(u.statusCode == 200)
        #expect(u.reasonPhrase.hasPrefix("= 2**3 * 5**2"))
        #expect(u.method == .invite)
        #expect(u.bodyRange.count == 154)

        let n = try parse("noreason")
        #expect(n.statusCode == 100)
        #expect(n.reasonPhrase == "")
        #expect(n.to.tag == "902jndnke3")
    }

    // MARK: 3.1.2 invalid messages

    @Test func invalidAnswerable() throws {
        let cases: [(String, SIPParseError.Kind)] = [
            ("clerr", .contentLengthMismatch),
            ("ncl", .badHeader(.contentLength)),
            ("ltgtruri", .badRequestURI),
            ("lwsruri", .badRequestURI),
            ("lwsstart", .badStartLine),
            ("trws", .badStartLine),
            ("mismatch01", .cseqMethodMismatch),
            ("mismatch02", .cseqMethodMismatch),
        ]
        for (name, kind) in cases {
            let e = try failure(name)
            #expect(e.kind == kind, "\(name)")
            #expect(e.answerable, "\(name)")
            #expect(e.replyStatus == 400, "\(name)")
            #expect(e.partial?.callID.hasPrefix(name) == true, "\(name)")
        }
        let v = try failure("badvers")
        #expect(v.kind == .versionNotSupported)
        #expect(v.answerable)
        #expect(v.replyStatus == 505)
        #expect(try failure("clerr").replyReason == "Content-Length Mismatch")
    }

    @Test func invalidUnanswerable() throws {
        // Via, To or CSeq themselves are broken (nothing to answer with), or a response.
        let cases: [(String, SIPParseError.Kind)] = [
            ("badinv01", .badHeader(.via)),
            ("scalar02", .badHeader(.cseq)),
            ("quotbal", .badHeader(.to)),
            ("scalarlg", .badHeader(.cseq)),
            ("bigcode", .badStatusCode),
        ]
        for (name, kind) in cases {
            let e = try failure(name)
            #expect(e.kind == kind, "\(name)")
            #expect(!e.answerable, "\(name)")
        }
        #expect(try failure("badinv01").offset == 217)
    }

    @Test func lenientlyAccepted() throws {
        let e = try parse("escruri")
        #expect(e.requestURI.sipURI?.headers.first?.name == "Route")
        #expect(try parse("baddate").headerValue("Date") == "Fri, 01 Jan 2010 16:00:00 EST")
        let r = try parse("regbadct")
        #expect(try r.contact?.addresses.first?.uri.sipURI?.headers.first?.value == "%3Csip:sip.example.com%3E")
        let a = try parse("badaspec")
        #expect(a.to.uri.sipURI?.host == "example.org")
        #expect(a.from.displayName == "Bell, Alexander")
        let d = try parse("baddn")
        #expect(d.from.displayName == "Bell, Alexander")
        #expect(d.to.uri.sipURI?.user == "t.watson")
    }

    // MARK: 3.2 and 3.4 transactions

    @Test func badbranchAndInv2543() throws {
        let b = try parse("badbranch")
        #expect(b.topVia.branch == "z9hG4bK")
        #expect(!b.topVia.hasMagicCookie)
        #expect(!TransactionKey(request: b).isRFC3261)

        let i = try parse("inv2543")
        #expect(i.topVia.branch == nil)
        #expect(i.maxForwards == nil)
        #expect(i.contentLength == nil)
        #expect(!i.bodyRange.isEmpty)
        #expect(!TransactionKey(request: i).isRFC3261)
        #expect(i.from.tag == nil)
        #expect(try i.recordRoutes.first?.uri.sipURI?.params.value("maddr") == "ss1.example.com")
    }

    // MARK: 3.3 semantic handling

    @Test func semantic() throws {
        let insuf = try failure("insuf")
        #expect(insuf.kind == .missingHeader(.from))
        #expect(!insuf.answerable)

        let unk = try parse("unkscm")
        #expect(unk.requestURI.scheme == "nobodyKnowsThisScheme")
        #expect(unk.requestURI.sipURI == nil)
        #expect(try parse("novelsc").requestURI.scheme == "soap.beep")
        let u2 = try parse("unksm2")
        #expect(u2.to.uri.scheme == "isbn")
        #expect(u2.from.uri.scheme == "http")
        #expect(try u2.contact?.addresses.first?.uri.scheme == "name")

        let ext = try parse("bext01")
        #expect(ext.headerValues("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"])
        #expect(ext.headerValues("Proxy-Require").count == 2)
        #expect(try parse("invut").contentType?.mediaType == "application/unknownformat")
        #expect(try parse("regaut01").headerValue("Authorization") == "NoOneKnowsThisScheme opaque-data=here")

        let multi = try failure("multi01")
        #expect(multi.kind == .duplicateHeader(.cseq))
        #expect(multi.answerable)
        #expect(try multi.partial?.contact?.addresses.count == 2)
        #expect(multi.partial?.headerCount("From") == 2)
        #expect(multi.partial?.headerCount("To") == 2)

        let mcl = try failure("mcl01")
        #expect(mcl.kind == .duplicateHeader(.contentLength))
        #expect(mcl.answerable)

        let bcast = try parse("bcast")
        #expect(bcast.vias[1].host == "255.255.255.255")
        #expect(try parse("zeromf").maxForwards == 0)

        let c1 = try parse("cparam01")
        let a1 = try #require(try c1.contact?.addresses.first)
        #expect(!a1.isBracketed)
        #expect(a1.params.contains("unknownparam"))
        #expect(a1.uri.sipURI?.params.isEmpty == true)
        let a2 = try #require(try parse("cparam02").contact?.addresses.first)
        #expect(a2.isBracketed)
        #expect(a2.params.isEmpty)
        #expect(a2.uri.sipURI?.params.contains("unknownparam") == true)

        let rr = try parse("regescrt")
        #expect(try rr.contact?.addresses.first?.uri.sipURI?.headers.first?.name == "Route")

        let sdp = try parse("sdp01")
        #expect(sdp.headerValue("Accept") == "text/nobodyKnowsThis")
        #expect(try sdp.contentType?.mediaType == "application/sdp")
        #expect(sdp.bodyRange.count == sdp.contentLength)
    }
}
