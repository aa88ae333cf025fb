import Foundation
import Script
import Testing

@testable import Runtime

/// The configs in examples/ run as shipped: with no defines each one listens on
/// 127.0.0.1:5060 (and relays to 127.0.0.1:5080), and `-A PORT=n` / `-A NEXTHOP=n` move them,
/// the way Kamailio users pass ports on the command line. The conformance runner starts them
/// on both servers with `-A` and checks that requests reach NEXTHOP
/// (Tests/Conformance/run.py --cases examples).
@Suite struct ShippedExamplesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")

    static var examples: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".cfg") }.sorted()
    }

    static func load(_ name: String, defines: [String: String]) -> ScriptLoader.Result {
        let loader = ScriptLoader(registry: RuntimeRegistry.make(), defines: defines,
                                  readFile: { try? String(contentsOfFile: $0, encoding: .utf8) })
        return loader.load(path: directory.appendingPathComponent(name).path)
    }

    @Test func thereAreExamples() {
        #expect(Self.examples.count >= 12)
    }

    @Test(arguments: examples) func loadsWithItsOwnDefaults(name: String) throws {
        let result = Self.load(name, defines: [:])
        #expect(result.diagnostics.items.filter { $0.severity == .error }.isEmpty, "\(result.diagnostics.rendered())")
        let program = try #require(result.program)
        #expect(program.settings.core["listen"] == [.string("udp:127.0.0.1:5060")])
    }

    @Test(arguments: examples) func portsComeFromTheCommandLine(name: String) throws {
        let result = Self.load(name, defines: ["PORT": "5072", "NEXTHOP": "5099"])
        let program = try #require(result.program, "\(result.diagnostics.rendered())")
        #expect(program.settings.core["listen"] == [.string("udp:127.0.0.1:5072")])
    }
}
