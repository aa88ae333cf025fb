import Foundation
import TestSupport
import Testing

/// Replays the SIP fuzz corpus (`Fuzz/corpus/sip`, in the source tree) through the fuzz
/// target's own entry point, so `make test` checks every input the fuzzer was seeded with or
/// found, without the fuzzer.
struct SIPCorpusReplayTests {
    static let files = FuzzCorpus.files("sip")

    /// Without the corpus the parameterized test would run no case and pass.
    @Test func theCorpusIsThere() {
        #expect(Self.files.count >= 40, "no corpus in \(FuzzCorpus.directory("sip"))")
    }

    @Test("corpus", arguments: files)
    func replay(_ name: String) throws {
        let data = try #require(FuzzCorpus.contents("sip", name))
        let violations = data.withUnsafeBytes { SIPFuzzTarget.run($0) }
        #expect(violations.isEmpty, "\(violations)")
    }
}
