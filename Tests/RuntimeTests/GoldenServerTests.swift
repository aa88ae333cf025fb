import Foundation
import SIP
import TestSupport
import Testing

/// Golden server tests: `Configs/golden/NAME.cfg` runs in a real `respite`; `NAME.expected`
/// beside it lists requests (`> METHOD [user=U] [header="Name: value"] [body="..."]`) and
/// the reply each must get (`< CODE REASON`, or `< none` for no reply). Adding a case costs
/// two files. `PORT` in the config is replaced by the test's port.
@Suite(.serialized) struct GoldenServerTests {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Configs/golden")
    }

    static var cases: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".cfg") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Without its resource folder the parameterized test would run no case and pass.
    @Test func theGoldenCasesAreThere() {
        #expect(Self.cases.count >= 3, "Configs/golden was not found in the test bundle")
    }

    @Test(arguments: cases)
    func golden(_ name: String) throws {
        let config = try String(contentsOf: Self.directory.appendingPathComponent(name + ".cfg"), encoding: .utf8)
        let expected = try String(contentsOf: Self.directory.appendingPathComponent(name + ".expected"), encoding: .utf8)
        // A golden config may count or store requests: no readiness ping.
        let server = try ServerProcess(config: config, children: 1, readiness: .processesStarted)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        var request: String?
        var lineNumber = 0
        for raw in expected.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("> ") {
                request = Self.buildRequest(String(line.dropFirst(2)), client)
            } else if line.hasPrefix("< "), let text = request {
                let want = String(line.dropFirst(2))
                client.send(text)
                let reply = Self.finalReply(client, timeout: want == "none" ? 0.3 : 2)
                let got = reply.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "none"
                #expect(got == want, "\(name).expected:\(lineNumber)\n\(server.log.suffix(2000))")
                request = nil
            }
        }
    }

    static func finalReply(_ client: SIPTestClient, timeout: TimeInterval) -> SIPMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = client.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { return nil }
            if !m.isRequest && m.statusCode >= 200 { return m }
        }
        return nil
    }

    /// `METHOD key=value key="quoted value" ...`
    static func buildRequest(_ spec: String, _ client: SIPTestClient) -> String {
        var tokens: [String] = []
        var current = "", quoted = false
        for c in spec {
            if c == "\"" { quoted.toggle(); continue }
            if c == " " && !quoted {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        let method = tokens.first ?? "OPTIONS"
        var user = "service", headers: [String] = [], body = ""
        for t in tokens.dropFirst() {
            guard let eq = t.firstIndex(of: "=") else { continue }
            let key = t[..<eq], value = String(t[t.index(after: eq)...])
            switch key {
            case "user": user = value
            case "header": headers.append(value)
            case "body": body = value.replacingOccurrences(of: "\\n", with: "\r\n")
            default: break
            }
        }
        return client.request(method, user: user, headers: headers, body: body)
    }
}
