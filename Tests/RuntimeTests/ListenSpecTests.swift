import Testing
import Runtime

/// `listen=` values: every IPv4 form parses as before; IPv6 parses but is refused with a
/// reason, since tm keeps IPv4 addresses only.
@Suite struct ListenSpecTests {
    func parsed(_ text: String) -> String? {
        if case .success(let spec) = ListenSpec.parse(text) { return spec.description }
        return nil
    }

    func error(_ text: String) -> String? {
        if case .failure(let e) = ListenSpec.parse(text) { return e.message }
        return nil
    }

    @Test func ipv4Forms() {
        #expect(parsed("udp:127.0.0.1:5070") == "udp:127.0.0.1:5070")
        #expect(parsed("127.0.0.1:5070") == "udp:127.0.0.1:5070")
        #expect(parsed("udp:10.1.2.3") == "udp:10.1.2.3:5060")
        #expect(parsed(" \"UDP:127.0.0.1\" ") == "udp:127.0.0.1:5060")
    }

    @Test func errorsSayWhatIsWrong() {
        #expect(error("tcp:127.0.0.1:5060") == "only udp listen sockets are supported (got tcp)")
        #expect(error("udp:127.0.0.1:0") == "bad port in listen address 'udp:127.0.0.1:0'")
        #expect(error("udp:127.0.0.1:x") == "bad port in listen address 'udp:127.0.0.1:x'")
        #expect(error("udp:example.com:5060") == "listen address 'udp:example.com:5060' is not udp:IP:PORT")
        #expect(error("udp:[::1]:5060")?.contains("IPv6 is not served yet") == true)
        #expect(error("[::1]")?.contains("IPv6 is not served yet") == true)
        #expect(error("udp:[::1:5060") != nil)
    }
}
