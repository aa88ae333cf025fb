import Histogram
import Shared

/// What one run counted and measured. Filled in by `LoadRunner`, printed by the
/// `RunResult+Output` extension.
///
/// Every request sent ends in exactly one of `answered`, `badStatus` or `lost` (or is
/// still outstanding when the run is cut short, which `expireAll` turns into `lost`).
/// `unexpected` adds replies that matched no request to `badStatus`.
struct RunResult: Sendable {
    /// `target=... method=...`: the fields that name the run.
    let target: SocketAddress
    let method: String
    let mode: StressConfig.Mode
    let expect: Expectation

    /// Requests handed to the kernel.
    var sent: UInt64 = 0
    /// Requests completed by a reply the expectation accepts.
    var answered: UInt64 = 0
    /// Requests with no completing reply within the timeout.
    var lost: UInt64 = 0
    /// Requests whose first final reply had a status the expectation refuses.
    var badStatus: UInt64 = 0
    /// Replies (and stray datagrams) that matched no request of this run.
    var unmatched: UInt64 = 0
    /// Provisional (1xx) replies received.
    var provisional: UInt64 = 0
    /// Final replies after the first one for the same request (server retransmissions).
    var duplicates: UInt64 = 0
    /// Requests the kernel refused to queue (send buffer full): not sent, not counted in `sent`.
    var sendErrors: UInt64 = 0
    /// ACKs sent for final replies to INVITE.
    var acks: UInt64 = 0
    /// Times the rate schedule had to move because the sender fell behind.
    var slips = 0
    /// Every final status seen, with its count.
    var statusCounts: [Int: UInt64] = [:]
    /// Send-to-completing-reply latency of answered requests, in microseconds.
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// The length of the sending phase (rate mode) or up to the last completion (window
    /// mode), in seconds: the denominator of `requestsPerSecond`.
    var seconds = 0.0
    /// The size of the first request, in bytes (later ones grow with their number's digits).
    var requestBytes = 0
    /// The receive buffer the kernel granted, in bytes.
    var receiveBufferBytes = 0

    init(config: StressConfig) {
        target = config.target
        method = config.method.name
        mode = config.mode
        expect = config.expect
    }

    /// Replies that matched nothing, plus requests refused with an unexpected status.
    var unexpected: UInt64 { unmatched + badStatus }

    /// Requests that got a final (or, when expected, provisional) reply in time.
    var completed: UInt64 { answered + badStatus }

    /// Nothing lost, nothing unexpected, nothing refused by the kernel, something sent.
    var isClean: Bool { sent > 0 && lost == 0 && unexpected == 0 && sendErrors == 0 }

    /// Rate mode: requests sent per second of the sending phase (the achieved offered
    /// rate). Window mode: completed requests per second (the throughput).
    var requestsPerSecond: Double {
        guard seconds > 0 else { return 0 }
        if case .window = mode { return Double(completed) / seconds }
        return Double(sent) / seconds
    }

    /// The latency at `percentile` (0-100), in microseconds; 0 with no samples.
    func latencyMicros(_ percentile: Double) -> UInt64 {
        latency.totalCount == 0 ? 0 : latency.valueAtPercentile(percentile)
    }

    /// The smallest latency, exact (the histogram keeps 3 significant digits, too coarse
    /// to tell 99.95 ms from 100 ms), in microseconds rounded down; UInt64.max before any.
    var minLatencyMicros = UInt64.max

    /// The largest latency recorded, in microseconds.
    var maxLatencyMicros: UInt64 { latency.totalCount == 0 ? 0 : latency.max }

    /// Integral values without decimals, others with two.
    static func formatNumber(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }

    /// `value` with exactly two decimals.
    static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int64((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
