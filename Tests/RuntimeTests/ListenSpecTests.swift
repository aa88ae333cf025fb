import Testing
import Runtime

/// `listen=` values (and `-l`): every transport and family, `advertise`, and errors that
/// say what is wrong.
@Suite struct ListenSpecTests {
    func parsed(_ text: String) -> String? {
        if case .success(let spec) = ListenSpec.parse(text) { return spec.description }
        return nil
    }

    func error(_ text: String) -> String? {
        if case .failure(let e) = ListenSpec.parse(text) { return e.message }
        return nil
    }

    @Test func everyForm() {
        #expect(parsed("udp:127.0.0.1:5070") == "udp:127.0.0.1:5070")
        #expect(parsed("tcp:127.0.0.1:5070") == "tcp:127.0.0.1:5070")
        #expect(parsed("127.0.0.1:5070") == "127.0.0.1:5070", "no transport: every one the server runs")
        #expect(parsed("udp:10.1.2.3") == "udp:10.1.2.3:5060")
        #expect(parsed(" \"UDP:127.0.0.1\" ") == "udp:127.0.0.1:5060")
        #expect(parsed("udp:\"192.168.178.75\":5060") == "udp:192.168.178.75:5060", "a quoted host, as Kamailio's examples write it")
        #expect(parsed("udp:[::1]:5062") == "udp:[::1]:5062")
        #expect(parsed("tcp:[::1]") == "tcp:[::1]:5060")
        #expect(parsed("[::1]") == "[::1]:5060")
        #expect(parsed("udp:10.0.0.5:5060 advertise 203.0.113.9:5080") == "udp:10.0.0.5:5060 advertise 203.0.113.9:5080")
        #expect(parsed("tcp:10.0.0.5:5060 advertise sip.example.com name \"pub\"") == "tcp:10.0.0.5:5060 advertise sip.example.com")
    }

    @Test func errorsSayWhatIsWrong() {
        #expect(error("tls:127.0.0.1:5061")?.contains("transport tls is not supported") == true)
        #expect(error("sctp:127.0.0.1:5060")?.contains("transport sctp is not supported") == true)
        #expect(error("udp:127.0.0.1:0") == "bad port in listen address 'udp:127.0.0.1:0'")
        #expect(error("udp:127.0.0.1:x") == "bad port in listen address 'udp:127.0.0.1:x'")
        #expect(error("udp:example.com:5060")?.contains("an IP address, not a name") == true)
        #expect(error("udp:[::1:5060") != nil)
        #expect(error("udp:127.0.0.1 advertise") != nil)
        #expect(error("udp:127.0.0.1 advertise 1.2.3.4:99999")?.contains("bad advertise port") == true)
        #expect(error("udp:127.0.0.1 bogus 1") != nil)
    }
}
