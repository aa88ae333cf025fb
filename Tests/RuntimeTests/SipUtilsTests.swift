import Foundation
import Testing
import TestSupport

/// siputils' tests and Request-URI edits over UDP against the built server.
@Suite(.serialized) struct SipUtilsTests {
    static let config = """
    children=1
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "siputils.so"
    request_route {
        if ($rU == "ping") { sl_send_reply("200", "pong"); exit; }
        if (is_user("alice")) { sl_send_reply("200", "credentials of alice"); exit; }
        if (uri_param("transport", "udp")) {
            add_uri_param("x=1");
            sl_send_reply("200", "now $ru");
            exit;
        }
        if (uri_param("lr")) { sl_send_reply("202", "has lr"); exit; }
        if (has_totag()) { sl_send_reply("200", "in dialog"); exit; }
        sl_send_reply("404", "none");
    }
    """

    @Test func credentialsURIParametersAndToTags() throws {
        let server = try ServerProcess(config: Self.config)
        let client = try SIPTestClient(server: server.port)
        /// The reason of the reply to an OPTIONS whose Request-URI ends with `uriParams`.
        func reason(_ user: String, _ headers: [String] = [], uriParams: String = "") -> String? {
            let text = client.request("OPTIONS", user: user, headers: headers)
                .replacingOccurrences(of: "@127.0.0.1:\(server.port) SIP/2.0", with: "@127.0.0.1:\(server.port)\(uriParams) SIP/2.0")
            return client.exchange(text, timeout: 3)?.reasonPhrase
        }
        let auth = #"Authorization: Digest username="alice", realm="r", nonce="n", uri="sip:x@127.0.0.1", response="00""#
        #expect(reason("x", [auth]) == "credentials of alice")
        #expect(reason("x", [auth.replacingOccurrences(of: "alice", with: "bob")]) == "none")
        #expect(reason("x", uriParams: ";transport=udp") == "now sip:x@127.0.0.1:\(server.port);transport=udp;x=1")
        #expect(reason("x", uriParams: ";transport=tcp") == "none")
        #expect(reason("x", uriParams: ";lr") == "has lr")
        #expect(reason("x", ["To: <sip:x@127.0.0.1>;tag=abc"]) == "in dialog")
        _ = server.stop()
    }
}
