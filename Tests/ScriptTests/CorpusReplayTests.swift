import Foundation
import Script
import TestSupport
import Testing

/// Replays the config fuzz corpus (`Fuzz/corpus/config`, in the source tree) through the fuzz
/// target's own entry point, so `make test` checks every input the fuzzer was seeded with or
/// found, without the fuzzer.
struct CorpusReplayTests {
    static let files = FuzzCorpus.files("config")

    /// Without the corpus the parameterized test would run no case and pass.
    @Test func theCorpusIsThere() {
        #expect(Self.files.count >= 40, "no corpus in \(FuzzCorpus.directory("config"))")
    }

    @Test("corpus", arguments: files)
    func replay(_ name: String) throws {
        let data = try #require(FuzzCorpus.contents("config", name))
        let result = data.withUnsafeBytes { ConfigFuzzTarget.run($0) }
        // The seeds of issue 15 must fail to load, with a bounded report.
        if name.hasPrefix("limits-deep") && !name.contains("253") || name.hasPrefix("limits-stray") {
            #expect(result.program == nil)
        }
        #expect(result.diagnostics.errorCount <= ScriptLimits.maxErrors)
    }
}
