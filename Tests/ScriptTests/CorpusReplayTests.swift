import Foundation
import Script
import Testing

/// Replays the config fuzz corpus (`Fuzz/corpus/config`, in the source tree) through the fuzz
/// target's own entry point, so `make test` checks every input the fuzzer was seeded with or
/// found, without the fuzzer.
struct CorpusReplayTests {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/config").path + "/"

    static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { !$0.hasPrefix(".") }.sorted()

    /// Without the corpus the parameterized test would run no case and pass.
    @Test func theCorpusIsThere() {
        #expect(Self.files.count >= 40, "no corpus in \(Self.directory)")
    }

    @Test("corpus", arguments: files)
    func replay(_ name: String) throws {
        let data = try #require(FileManager.default.contents(atPath: Self.directory + name))
        let result = data.withUnsafeBytes { ConfigFuzzTarget.run($0) }
        // The seeds of issue 15 must fail to load, with a bounded report.
        if name.hasPrefix("limits-deep") && !name.contains("253") || name.hasPrefix("limits-stray") {
            #expect(result.program == nil)
        }
        #expect(result.diagnostics.errorCount <= ScriptLimits.maxErrors)
    }
}
