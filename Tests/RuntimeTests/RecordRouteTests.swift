import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// rr over UDP (and TCP for double record-routing) with the built server: the Record-Route
/// a relayed INVITE gets, the in-dialog ACK and BYE loose-routed along it, and
/// loose_route()'s answers for the route sets Kamailio 5.6.3 was observed with on loopback.
@Suite(.serialized) struct RecordRouteTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    listen=tcp:127.0.0.1:PORT
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "rr.so"
    loadmodule "siputils.so"
    loadmodule "textops.so"
    request_route {
        if (is_method("OPTIONS") && $rU == "ping") { sl_send_reply("200", "pong"); exit; }
        if ($hdr(X-T) == "lr") {
            loose_route();
            $var(rc) = $rc;
            $var(dir) = "up";
            if (is_direction("downstream")) { $var(dir) = "down"; }
            $var(nat) = "no";
            if (check_route_param("nat=yes")) { $var(nat) = "yes"; }
            sl_send_reply("200", "rc=$var(rc) du=$du ru=$ru route=$route_uri dir=$var(dir) nat=$var(nat)");
            exit;
        }
        if (has_totag()) {
            if (loose_route()) {
                if (is_direction("downstream")) { append_hf("X-Dir: downstream\\r\\n"); }
                else { append_hf("X-Dir: upstream\\r\\n"); }
                t_relay();
                exit;
            }
            sl_send_reply("404", "Not here");
            exit;
        }
        if ($hdr(X-TCP) != $null) {
            record_route();
            $du = "sip:127.0.0.1:" + $hdr(X-TCP) + ";transport=tcp";
            t_relay();
            exit;
        }
        record_route(";x=1");
        add_rr_param(";nat=yes");
        $du = $hdr(X-Next);
        t_relay();
    }
    """

    /// An in-dialog request from the caller: its Request-URI, Route set and tags.
    static func inDialog(_ method: String, _ client: SIPTestClient, ruri: String, routes: [String], callID: String,
                         fromTag: String, toTag: String, cseq: Int, extra: [String] = []) -> String {
        var lines = [
            "\(method) \(ruri) SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bK-dlg-\(method)-\(UInt32.random(in: 0...UInt32.max));rport",
            "Max-Forwards: 70",
        ]
        lines += routes.map { "Route: \($0)" }
        lines += [
            "From: <sip:tester@127.0.0.1:\(client.port)>;tag=\(fromTag)",
            "To: <sip:callee@127.0.0.1>;tag=\(toTag)",
            "Call-ID: \(callID)",
            "CSeq: \(cseq) \(method)",
        ] + extra
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The header lines of a message, in order.
    static func lines(_ m: SIPMessage) -> [String] {
        String(decoding: m.bytes[..<m.headersEnd], as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    @Test func aDialogThroughTheProxyIsRecordRoutedAndLooseRouted() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let caller = try SIPTestClient(server: server.port)
        let callee = try SIPTestClient(server: server.port)
        let invite = caller.request("INVITE", user: "callee", headers: ["X-Next: sip:127.0.0.1:\(callee.port)"])
        caller.send(invite)
        let relayed = try #require(callee.receive(timeout: 2), "\(server.log)")
        #expect(relayed.method == .invite)
        let fromTag = try #require(relayed.from.tag)
        let rr = "<sip:127.0.0.1:\(server.port);lr;ftag=\(fromTag);x=1;nat=yes>"
        // Kamailio writes the Record-Route first, above its Via.
        #expect(Array(Self.lines(relayed).dropFirst().prefix(2)) == [
            "Record-Route: \(rr)", "Via: SIP/2.0/UDP 127.0.0.1:\(server.port);branch=\(relayed.topVia.branch ?? "")",
        ], "\(Self.lines(relayed))")

        // The callee answers 200 with the Record-Route copied and its Contact.
        let contact = "sip:callee@127.0.0.1:\(callee.port)"
        callee.send(SIPTestClient.reply(to: relayed.bytes, "200 OK", extra: ["Record-Route: \(rr)", "Contact: <\(contact)>"]))
        let ok = try #require(GoldenServerTests.finalReply(caller, timeout: 2), "\(server.log)")
        #expect(ok.statusCode == 200 && ok.headerValue("Record-Route") == rr)
        let toTag = try #require(ok.to.tag)

        // ACK and BYE follow the route set: the proxy removes its Route and relays to the
        // Contact in the Request-URI.
        for (method, cseq) in [("ACK", 1), ("BYE", 2)] {
            caller.send(Self.inDialog(method, caller, ruri: contact, routes: [rr], callID: ok.callID,
                                      fromTag: fromTag, toTag: toTag, cseq: cseq))
            let arrived = try #require(callee.receive(timeout: 2), "\(method) not relayed\n\(server.log)")
            #expect(arrived.method.name == method && arrived.requestURIString == contact)
            #expect(arrived.headerCount("Route") == 0, "our Route entry was removed: \(Self.lines(arrived))")
            #expect(arrived.headerValue("X-Dir") == "downstream", "ftag matches the From tag")
            #expect(arrived.vias.count == 2 && arrived.topVia.port == Int(server.port))
            if method == "BYE" {
                callee.send(SIPTestClient.reply(to: arrived.bytes, "200 OK"))
                let byeOK = try #require(GoldenServerTests.finalReply(caller, timeout: 2))
                #expect(byeOK.statusCode == 200 && byeOK.cseq.method == .bye)
            }
        }
        // A BYE from the callee's side carries the callee's tag in From: upstream.
        callee.send(Self.inDialog("BYE", callee, ruri: "sip:tester@127.0.0.1:\(caller.port)", routes: [rr], callID: ok.callID,
                                  fromTag: toTag, toTag: fromTag, cseq: 7))
        let upstream = try #require(caller.receive(timeout: 2), "\(server.log)")
        #expect(upstream.method == .bye && upstream.headerValue("X-Dir") == "upstream")
    }

    /// loose_route()'s answer, `$du`, `$ru`, `$route_uri`, is_direction and
    /// check_route_param: the values Kamailio 5.6.3 gave for the same requests.
    @Test func looseRouteAnswersAsKamailioDoes() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let me = "127.0.0.1:\(server.port)"
        func ask(_ ruri: String, _ routes: [String], toTag: String? = "tt1", fromTag: String = "ft1") throws -> String {
            var text = Self.inDialog("BYE", client, ruri: ruri, routes: routes, callID: "lr-\(UInt32.random(in: 0...UInt32.max))",
                                     fromTag: fromTag, toTag: toTag ?? "", cseq: 2, extra: ["X-T: lr"])
            if toTag == nil { text = text.replacingOccurrences(of: ";tag=\r\n", with: "\r\n") }
            let reply = try #require(client.exchange(text), "\(server.log)")
            return reply.reasonPhrase
        }
        // Only our Route: removed, the Request-URI is the target.
        #expect(try ask("sip:bob@127.0.0.1:5090", ["<sip:\(me);lr;ftag=ft1;nat=yes>"])
                == "rc=1 du=<null> ru=sip:bob@127.0.0.1:5090 route=sip:\(me);lr;ftag=ft1;nat=yes dir=down nat=yes")
        // Ours, then a loose router: it becomes $du; a From tag other than ftag is upstream.
        #expect(try ask("sip:bob@127.0.0.1:5099", ["<sip:\(me);lr;ftag=ft1>", "<sip:127.0.0.1:5090;lr;foo>"], fromTag: "tt1")
                == "rc=1 du=sip:127.0.0.1:5090;lr;foo ru=sip:bob@127.0.0.1:5099 route=sip:\(me);lr;ftag=ft1 dir=up nat=no")
        // Ours, then a strict router: it takes the Request-URI.
        #expect(try ask("sip:bob@127.0.0.1:5099", ["<sip:\(me);lr;ftag=ft1>,<sip:127.0.0.1:5090;foo>"])
                == "rc=1 du=<null> ru=sip:127.0.0.1:5090;foo route=sip:\(me);lr;ftag=ft1 dir=down nat=no")
        // The previous hop was a strict router (our URI in the Request-URI): the last Route
        // is the Request-URI, a loose first one the destination; our parameters count.
        #expect(try ask("sip:\(me);ftag=ft1;nat=yes", ["<sip:127.0.0.1:5090;lr>", "<sip:10.0.0.8;lr>"])
                == "rc=1 du=sip:127.0.0.1:5090;lr ru=sip:10.0.0.8;lr route=sip:127.0.0.1:5090;lr dir=down nat=yes")
        #expect(try ask("sip:\(me);ftag=ft1", ["<sip:127.0.0.1:5090>"])
                == "rc=1 du=<null> ru=sip:127.0.0.1:5090 route=sip:127.0.0.1:5090 dir=down nat=no")
        // Double record-route: both entries are ours.
        #expect(try ask("sip:bob@127.0.0.1:5090", ["<sip:\(me);transport=tcp;r2=on;lr;ftag=ft1>", "<sip:\(me);r2=on;lr;ftag=ft1>"])
                == "rc=1 du=<null> ru=sip:bob@127.0.0.1:5090 route=sip:\(me);transport=tcp;r2=on;lr;ftag=ft1 dir=down nat=no")
        // An initial request whose only Route is ours: -3; without Route: -1.
        #expect(try ask("sip:bob@127.0.0.1:5099", ["<sip:\(me);lr>"], toTag: nil).hasPrefix("rc=-3 du=<null>"))
        #expect(try ask("sip:bob@127.0.0.1:5099", [], toTag: nil).hasPrefix("rc=-1 du=<null>"))
    }

    /// Towards a strict next hop the relayed request loses its consumed Route entries (the
    /// rest of a comma list stays) and gets the old Request-URI as its last Route.
    @Test func aStrictNextHopGetsTheRequestURIAndTheRouteSetIsRewritten() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        let next = try SIPTestClient(server: server.port)
        let me = "127.0.0.1:\(server.port)"
        client.send(Self.inDialog("BYE", client, ruri: "sip:bob@127.0.0.1:5099",
                                  routes: ["<sip:\(me);lr;ftag=x>,<sip:127.0.0.1:\(next.port)>", "<sip:far@10.0.0.9;lr>"],
                                  callID: "strict-1", fromTag: "x", toTag: "y", cseq: 2))
        let arrived = try #require(next.receive(timeout: 2), "\(server.log)")
        #expect(arrived.requestURIString == "sip:127.0.0.1:\(next.port)")
        #expect(arrived.headerValues("Route") == ["<sip:far@10.0.0.9;lr>", "<sip:bob@127.0.0.1:5099>"], "\(Self.lines(arrived))")
    }

    /// UDP in, TCP out: two Record-Routes, the outbound socket's first, both with r2=on.
    @Test func doubleRecordRouteWhenTheTransportChanges() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let listener = try LoopbackTCPListener()
        let client = try SIPTestClient(server: server.port)
        client.send(client.request("INVITE", user: "callee", headers: ["X-TCP: \(listener.port)"]))
        let connection = try #require(listener.accept(timeout: 2), "\(server.log)")
        defer { connection.close() }
        #expect(connection.read(timeout: 2) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        let text = String(decoding: connection.received, as: UTF8.self)
        let rrs = text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Record-Route:") }
        let tag = try #require(try SIPMessage.parse(connection.received).from.tag)
        #expect(rrs == [
            "Record-Route: <sip:127.0.0.1:\(server.port);transport=tcp;r2=on;lr;ftag=\(tag)>",
            "Record-Route: <sip:127.0.0.1:\(server.port);r2=on;lr;ftag=\(tag)>",
        ], "\(text)")
    }
}
