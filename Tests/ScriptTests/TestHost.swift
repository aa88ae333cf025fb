import Script

/// The per-request state of the fake runtime the golden tests use.
final class TestHost {
    var trace: [String] = []
    var ruri = "sip:bob@example.com"
    var method = "INVITE"
    var avps: [String: Value] = [:]
    var htable: [String: Value] = [:]
    var resumePoint: ResumePoint?

    init() {}
}

extension ExecContext {
    /// The test host, which every golden test installs.
    var test: TestHost { host as! TestHost }
}
