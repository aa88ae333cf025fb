import Foundation
import Testing

/// Replays the SIP fuzz corpus (`Fuzz/corpus/sip`, in the source tree) through the fuzz
/// target's own entry point, so `make test` checks every input the fuzzer was seeded with or
/// found, without the fuzzer.
struct SIPCorpusReplayTests {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/sip").path + "/"

    static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { !$0.hasPrefix(".") }.sorted()

    /// Without the corpus the parameterized test would run no case and pass.
    @Test func theCorpusIsThere() {
        #expect(Self.files.count >= 40, "no corpus in \(Self.directory)")
    }

    @Test("corpus", arguments: files)
    func replay(_ name: String) throws {
        let data = try #require(FileManager.default.contents(atPath: Self.directory + name))
        let violations = data.withUnsafeBytes { SIPFuzzTarget.run($0) }
        #expect(violations.isEmpty, "\(violations)")
    }
}
