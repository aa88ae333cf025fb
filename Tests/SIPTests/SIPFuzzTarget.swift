/// The SIP fuzz target: one datagram through the fast transaction key, the parser, the
/// views and the reply, forward and CANCEL builders, with every invariant of
/// `FuzzInvariants` checked. `Fuzz/sip` builds this file with `FuzzInvariants` into a
/// libFuzzer binary (`make fuzz`), and `SIPCorpusReplayTests` runs every file of
/// `Fuzz/corpus/sip` through it.
enum SIPFuzzTarget {
    /// Checks one input; the violations it found (empty: clean).
    static func run(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var invariants = FuzzInvariants()
        invariants.check(Array(bytes))
        return invariants.violations
    }
}
