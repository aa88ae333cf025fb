import SIP

/// Everything one run needs, validated: built from the command line, passed by value.
struct StressConfig: Sendable {
    /// How requests are offered.
    enum Mode: Sendable, Equatable {
        /// A fixed number of requests a second, paced on the monotonic clock.
        case rate(Double)
        /// As fast as replies come back, with this many requests outstanding.
        case window(Int)
    }

    /// The server, inside 127.0.0.0/8.
    var target: IPv4Endpoint
    /// The local address to bind (port 0: any), inside 127.0.0.0/8.
    var bind: IPv4Endpoint
    var requestURI: String
    var method: SIPMethod
    var mode: Mode
    /// Stop after this many requests (nil: only the duration bounds the run).
    var count: UInt64?
    /// Stop sending after this long, in nanoseconds.
    var durationNanos: UInt64
    /// A request unanswered this long after it was sent is lost, in nanoseconds.
    var timeoutNanos: UInt64
    var expect: Expectation
    /// SO_RCVBUF and SO_SNDBUF asked for, in bytes.
    var socketBufferBytes: Int
    /// In rate mode, the most requests sent back to back to catch up with the schedule.
    var burst: Int
    /// True when `burst` was derived from the rate (and follows it when the rate changes).
    var burstIsDefault: Bool

    /// The longest run allowed, in seconds.
    static let maxDurationSeconds = 600.0

    /// The burst allowance for `rate`: about a millisecond's worth, at least 2.
    static func defaultBurst(rate: Double) -> Int { max(2, Int(rate / 1000)) }
}
