import Foundation
import Script
import Testing

/// Golden tests: `Golden/NAME.cfg` runs (or fails to load) and its outcome must equal
/// `Golden/NAME.expected`. Lines `// golden: -A NAME[=value]` and `// golden: method=X` in the
/// config set options. Set `GOLDEN_UPDATE=1` to write the actual outcome instead.
struct GoldenTests {
    static let directory: String = {
        let url = Bundle.module.url(forResource: "Golden", withExtension: nil)!
        return url.path + "/"
    }()

    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".cfg") }.map { String($0.dropLast(4)) }.sorted()
    }()

    /// Without its resource folder the parameterized test would run no case and pass.
    @Test func theGoldenCasesAreThere() {
        #expect(Self.cases.count >= 10, "Golden was not found in the test bundle")
    }

    @Test("golden", arguments: cases)
    func golden(_ name: String) throws {
        let path = Self.directory + name + ".cfg"
        let actual = Self.outcome(path: path)
        let expectedPath = Self.directory + name + ".expected"
        if ProcessInfo.processInfo.environment["GOLDEN_UPDATE"] != nil {
            // Write into the source tree, not the copied bundle.
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Golden/" + name + ".expected"
            try actual.write(toFile: source, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOfFile: expectedPath, encoding: .utf8)) ?? "<missing \(name).expected>"
        #expect(actual == expected, "\(name).cfg:\n--- actual\n\(actual)--- expected\n\(expected)")
    }

    /// What a config does: its diagnostics, then (when it loads) the trace of `request_route`,
    /// and when a fake async sleep stored a resume point, the trace of resuming there.
    static func outcome(path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var defines: [String: String] = [:]
        let host = TestHost()
        for line in text.split(separator: "\n") where line.hasPrefix("// golden: ") {
            let option = line.dropFirst("// golden: ".count)
            if option.hasPrefix("-A ") {
                let d = ScriptLoader.define(String(option.dropFirst(3)))
                defines[d.name] = d.value
            } else if option.hasPrefix("method=") {
                host.method = String(option.dropFirst("method=".count))
            }
        }
        let loader = ScriptLoader(registry: TestRegistry.make(), defines: defines)
        let result = loader.load(path: path)
        var out = ""
        for d in result.diagnostics.items {
            out += d.description.replacingOccurrences(of: directory, with: "") + "\n"
        }
        guard let program = result.program else { return out }
        var ctx = program.makeContext(host: host)
        ctx.log = { level, message in
            host.trace.append("[\(level)] " + message.replacingOccurrences(of: directory, with: ""))
        }
        let flow = program.runRequestRoute(&ctx)
        out += host.trace.map { $0 + "\n" }.joined()
        out += "flow: \(flow)\n"
        if let point = host.resumePoint {
            host.trace = []
            host.resumePoint = nil
            out += "-- resume at \(point)\n"
            let resumed = program.run(from: point, &ctx)
            out += host.trace.map { $0 + "\n" }.joined()
            out += "flow: \(resumed)\n"
        }
        return out
    }
}
