import Testing
@testable import SIP

@Suite struct BuilderTests {
    @Test func replyRoundTrip() throws {
        let req = try SIPMessage.parse(Sample.invite)
        var out = MessageBuffer()
        ReplyBuilder.reply(to: req, status: 486, reason: "Busy Here", toTag: "abc123",
                           extraHeaders: [("Server", "Respite")], into: &out)
        let rep = try SIPMessage.parse(out.bytes)
        #expect(!rep.isRequest)
        #expect(rep.statusCode == 486)
        #expect(rep.reasonPhrase == "Busy Here")
        #expect(rep.to.tag == "abc123")
        #expect(rep.vias.map(\.branch) == ["z9hG4bK776asdhds", "z9hG4bKnashds8"])
        #expect(rep.vias[1].received == "192.0.2.1")
        #expect(rep.cseq.number == req.cseq.number)
        #expect(rep.cseq.method == req.cseq.method)
        #expect(rep.callID == req.callID)
        #expect(rep.from.tag == "1928301774")
        #expect(rep.contentLength == 0)
        #expect(rep.headerValue("Server") == "Respite")

        // Generated tag: stable for the same request; none for 100; kept when present.
        ReplyBuilder.reply(to: req, status: 200, reason: "OK", body: Array("hello".utf8), into: &out)
        let ok = try SIPMessage.parse(out.bytes)
        #expect(ok.to.tag == ReplyBuilder.generatedTag(for: req))
        #expect(ok.contentLength == 5)
        #expect(ok.body == Array("hello".utf8))
        ReplyBuilder.reply(to: req, status: 100, reason: "Trying", into: &out)
        #expect(try SIPMessage.parse(out.bytes).to.tag == nil)
        let tagged = try SIPMessage.parse(Sample.response("180 Ringing", toTag: "xyz"))
        _ = tagged
    }

    @Test func replyToAnswerableError() throws {
        let bytes = try Fixture.rfc4475("clerr")
        var out = MessageBuffer()
        do {
            _ = try SIPMessage.parse(bytes)
            Issue.record("clerr parsed")
        } catch {
            let partial = try #require(error.partial)
            ReplyBuilder.reply(to: partial, status: error.replyStatus, reason: error.replyReason, into: &out)
            let rep = try SIPMessage.parse(out.bytes)
            #expect(rep.statusCode == 400)
            #expect(rep.reasonPhrase == "Content-Length Mismatch")
            #expect(rep.topVia.branch == "z9hG4bK-39234-23523")
            #expect(rep.to.tag != nil)
        }
    }

    @Test func forwardRoundTrip() throws {
        let req = try SIPMessage.parse(Sample.invite)
        let routes = req.fields(named: "Route")
        var out = MessageBuffer()
        try ForwardBuilder.forward(
            req, via: ViaSentBy(transport: "UDP", host: "192.0.2.10", port: 5060, extraParams: ["rport"]),
            branch: "z9hG4bKfwd1",
            edits: [.setRequestURI("sip:bob@192.0.2.20:5070"), .remove(routes[0]),
                    .addFirst(name: "Record-Route", value: "<sip:192.0.2.10;lr>"),
                    .addLast(name: "X-Edited", value: "yes")],
            into: &out)
        let fwd = try SIPMessage.parse(out.bytes)
        #expect(fwd.method == .invite)
        #expect(fwd.requestURIString == "sip:bob@192.0.2.20:5070")
        #expect(fwd.requestURI.sipURI?.port == 5070)
        #expect(fwd.vias.count == 3)
        #expect(fwd.topVia.branch == "z9hG4bKfwd1")
        #expect(fwd.topVia.host == "192.0.2.10")
        #expect(fwd.topVia.rport == .requested)
        #expect(fwd.vias[1].branch == "z9hG4bK776asdhds")
        #expect(fwd.vias[1].rport == .requested)
        #expect(fwd.maxForwards == 69)
        #expect(try fwd.routes.isEmpty)
        #expect(try fwd.recordRoutes.first?.uriString == "sip:192.0.2.10;lr")
        #expect(fwd.headerValue("X-Edited") == "yes")
        #expect(fwd.body == Array("v=0\n".utf8))
        #expect(fwd.callID == req.callID)

        // Generated branch: magic cookie, stable; Max-Forwards added when absent.
        let old = try SIPMessage.parse(try Fixture.rfc4475("inv2543"))
        try ForwardBuilder.forward(old, via: ViaSentBy(host: "proxy.example.com"), into: &out)
        let f2 = try SIPMessage.parse(out.bytes)
        #expect(f2.topVia.hasMagicCookie)
        #expect(f2.topVia.branch == ForwardBuilder.generatedBranch(for: old))
        #expect(f2.maxForwards == 70)
        #expect(f2.contentLength == old.bodyRange.count)
        #expect(f2.vias[1].host == "iftgw.example.com")
        // mf_process_maxfwd_header(n) asks for another value.
        try ForwardBuilder.forward(old, via: ViaSentBy(host: "proxy.example.com"), maxForwardsWhenAbsent: 10, into: &out)
        #expect(try SIPMessage.parse(out.bytes).maxForwards == 10)

        let zero = try SIPMessage.parse(try Fixture.rfc4475("zeromf"))
        #expect(throws: SIPBuildError.maxForwardsExhausted) {
            try ForwardBuilder.forward(zero, via: ViaSentBy(host: "p.example.com"), into: &out)
        }
    }

    @Test func removeFirstHeader() throws {
        let req = try SIPMessage.parse(Sample.invite)
        var out = MessageBuffer()
        try ForwardBuilder.forward(req, via: ViaSentBy(host: "p.example.com"), branch: "z9hG4bKx",
                                   edits: [.remove(req.headers[0])], into: &out)
        let fwd = try SIPMessage.parse(out.bytes)
        #expect(fwd.vias.map(\.branch) == ["z9hG4bKx", "z9hG4bKnashds8"])
    }

    @Test func cancelAndAck() throws {
        let req = try SIPMessage.parse(Sample.invite)
        var out = MessageBuffer()
        try ClientRequestBuilder.cancel(for: req, into: &out)
        let cancel = try SIPMessage.parse(out.bytes)
        #expect(cancel.method == .cancel)
        #expect(cancel.requestURIString == req.requestURIString)
        #expect(cancel.cseq.number == 314159)
        #expect(cancel.cseq.method == .cancel)
        #expect(cancel.vias.count == 1)
        #expect(cancel.topVia.branch == req.topVia.branch)
        #expect(cancel.to.tag == nil)
        #expect(try cancel.routes.count == 2)
        #expect(TransactionKey(request: cancel).inviteKey == TransactionKey(request: req))

        let busy = try SIPMessage.parse(Sample.response("486 Busy Here", toTag: "b0b"))
        try ClientRequestBuilder.ack(for: req, response: busy, into: &out)
        let ack = try SIPMessage.parse(out.bytes)
        #expect(ack.method == .ack)
        #expect(ack.cseq.number == 314159)
        #expect(ack.cseq.method == .ack)
        #expect(ack.to.tag == "b0b")
        #expect(ack.from.tag == "1928301774")
        #expect(ack.vias.count == 1)
        #expect(ack.topVia.branch == req.topVia.branch)
        #expect(TransactionKey(request: ack) == TransactionKey(request: req))

        let ok = try SIPMessage.parse(Sample.response("200 OK", toTag: "b0b"))
        #expect(throws: SIPBuildError.self) { try ClientRequestBuilder.ack(for: req, response: ok, into: &out) }
    }

    /// The Via a request arrived with gets `received` and `rport=` as Kamailio writes them.
    @Test func forwardMarksWhereTheRequestCameFrom() throws {
        func forwarded(_ via: String, from host: String, _ port: Int) throws -> String {
            let text = "OPTIONS sip:a@b SIP/2.0\r\nVia: \(via)\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\n"
                + "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            var out = MessageBuffer(capacity: 512)
            try ForwardBuilder.forward(try SIPMessage.parse(Array(text.utf8)), via: ViaSentBy(host: "proxy"),
                                       edits: [.receivedFrom(host: host, port: port)], into: &out)
            return try SIPMessage.parse(out.bytes).vias[1].value
        }
        #expect(try forwarded("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport", from: "10.0.0.1", 40000)
                == "SIP/2.0/UDP 10.0.0.1:5060;received=10.0.0.1;branch=z9hG4bK1;rport=40000")
        #expect(try forwarded("SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1", from: "203.0.113.7", 40000)
                == "SIP/2.0/TCP 10.0.0.1:5060;received=203.0.113.7;branch=z9hG4bK1")
        #expect(try forwarded("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", from: "10.0.0.1", 5060)
                == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", "nothing to say: same host, no rport")
        #expect(try forwarded("SIP/2.0/UDP [::1]:5060 ; branch=z9hG4bK1", from: "::1", 5060)
                == "SIP/2.0/UDP [::1]:5060 ; branch=z9hG4bK1")
        #expect(try forwarded("SIP/2.0/UDP pc.example.com;rport;branch=z9hG4bK1", from: "192.0.2.4", 1024)
                == "SIP/2.0/UDP pc.example.com;received=192.0.2.4;rport=1024;branch=z9hG4bK1")
        #expect(try forwarded("SIP/2.0/UDP pc.example.com", from: "192.0.2.4", 1024)
                == "SIP/2.0/UDP pc.example.com;received=192.0.2.4")
    }
}
