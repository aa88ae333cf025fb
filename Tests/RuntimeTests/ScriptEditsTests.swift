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
        s.forceRPort = true
        s.addLocalRPort = true
        s.branches = [.init(uri: "sip:a@b", destinationURI: "sip:c;lr", q: 500), .init(uri: "sip:d@e", destinationURI: nil, q: nil)]
        s.rr.mode = .preset("1.2.3.4:5090", "5.6.7.8")
        s.rr.params = ";nat=yes"
        s.rr.cuts = [10..<40, 50..<51]
        s.rr.appendedRoute = "<sip:bob@example.com>"
        s.rr.routeURI = "sip:127.0.0.1;lr"
        s.rr.routeParams = ";lr"
        s.splices = [.init(range: 20..<25, text: "new"), .init(range: 30..<30, text: "X-I: 1\r\n")]
        s.requestURIQ = 1000
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

    /// A damaged buffer (bytes flipped, inserted or removed anywhere, or random bytes)
    /// decodes to nothing or to edits that survive their own round trip: never a trap.
    @Test func mutatedBuffersDecodeToNothingOrToAConsistentValue() {
        var rng = SplitMix(seed: 0x5eed_2026)
        let original = Self.sample.encoded()
        var decoded = 0, refused = 0
        for round in 0..<20_000 {
            var bytes = original
            switch round % 4 {
            case 0: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count + 1)))
            case 2: bytes.remove(at: Int(rng.next() % UInt64(bytes.count)))
            default: bytes = (0..<Int(rng.next() % 96)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            guard let value = bytes.withUnsafeBytes({ ScriptEdits(decoding: $0) }) else {
                refused += 1
                continue
            }
            decoded += 1
            let again = value.encoded().withUnsafeBytes { ScriptEdits(decoding: $0) }
            #expect(again == value, "round \(round): a decoded value re-encodes to itself")
        }
        #expect(decoded > 0 && refused > 0, "both outcomes were reached: \(decoded) decoded, \(refused) refused")
    }
}

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
