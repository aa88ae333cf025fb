import SIP
import Shared

/// Everything one run needs, validated: built from the command line, passed by value.
struct StressConfig: Sendable {
    /// How requests are offered.
    enum Mode: Sendable, Equatable {
        /// A fixed number of requests a second, paced on the monotonic clock.
        case rate(Double)
        /// As fast as replies come back, with this many requests outstanding.
        case window(Int)
    }

    /// The server, on loopback.
    var target: SocketAddress
    /// The local address to bind (port 0: any), on loopback, of the target's family.
    var bind: SocketAddress
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

extension StressConfig {
    /// Why text could not be turned into a loopback address.
    enum AddressError: Error, CustomStringConvertible {
        case malformed(String)
        case notLoopback(String)

        var description: String {
            switch self {
            case .malformed(let text):
                return "'\(text)' is not an IP address with an optional port (e.g. 127.0.0.1:5060 or [::1]:5060)"
            case .notLoopback(let text):
                return "'\(text)' is not a loopback address: respite-stress only sends to 127.0.0.0/8 and ::1"
            }
        }
    }

    /// Parses `a.b.c.d[:port]`, `[IPv6][:port]` or `localhost[:port]`; the port defaults
    /// to `defaultPort`. The tool only ever talks to this machine: every address it uses,
    /// the target and the local bind address alike, is checked here, so a typo cannot aim
    /// a load test at another host.
    static func loopbackAddress(_ text: String, defaultPort: UInt16) throws(AddressError) -> SocketAddress {
        var spelled = text
        if text == "localhost" || text.hasPrefix("localhost:") {
            spelled = "127.0.0.1" + text.dropFirst("localhost".count)
        }
        guard let address = SocketAddress(parsing: spelled, defaultPort: defaultPort) else { throw .malformed(text) }
        guard address.isLoopback else { throw .notLoopback(text) }
        return address
    }
}
