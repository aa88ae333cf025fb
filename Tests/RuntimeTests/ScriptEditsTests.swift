import Script
import Testing
@testable import Runtime

/// The script state a transaction keeps in the arena survives its encoding, and a damaged
/// buffer is refused rather than misread.
@Suite struct ScriptEditsTests {
    static var sample: ScriptEdits {
        var s = ScriptEdits()
        s.requestURI = "sip:bob@example.com"
        s.destinationURI = nil
        s.maxForwardsToAdd = 10
        s.appendedHeaders = ["X-A: 1\r\n", "X-B: é\r\n"]
        s.removedHeaders = ["x-gone"]
        s.avps = ["a": [.int(-3), .string("two"), .null]]
        s.xavps = ["r": [[.init(name: "f", value: .string("v"))], [.init(name: "g", value: .int(1 << 40))]]]
        return s
    }

    @Test func roundTrip() {
        let bytes = Self.sample.encoded()
        let back = bytes.withUnsafeBytes { ScriptEdits(decoding: $0) }
        #expect(back == Self.sample)
        let empty = ScriptEdits().encoded().withUnsafeBytes { ScriptEdits(decoding: $0) }
        #expect(empty == ScriptEdits())
    }

    @Test func truncatedOrForeignBuffersAreRefused() {
        let bytes = Self.sample.encoded()
        for cut in 0..<bytes.count {
            let partial = Array(bytes[0..<cut])
            #expect(partial.withUnsafeBytes { ScriptEdits(decoding: $0) } == nil, "cut at \(cut)")
        }
        var foreign = bytes
        foreign[0] = 9
        #expect(foreign.withUnsafeBytes { ScriptEdits(decoding: $0) } == nil)
    }
}
