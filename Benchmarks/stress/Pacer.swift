/// Decides how many requests may go out now: on a fixed schedule (rate mode) or to keep a
/// window of requests outstanding (window mode).
///
/// The rate schedule is `origin + k / rate` for the k-th request past `originCount`, on the
/// monotonic clock, so the average rate has no drift however late single wake-ups are. A
/// sender that wakes late owes several requests: it sends at most `burst` of them back to
/// back, then waits half the time those took before the next `burst` (catching up at twice
/// the rate at most), so a late wake-up never turns into a long burst. Only
/// when it is more than `maxDebt` behind (a tenth of a second's worth) is the schedule moved
/// forward (a slip): the client cannot keep the rate, and the achieved rate shows it.
struct Pacer {
    let mode: StressConfig.Mode
    let burst: Int
    /// The most requests owed before the schedule is moved forward instead.
    let maxDebt: UInt64
    private var origin: UInt64
    private var originCount: UInt64 = 0
    private let nanosPerRequest: Double
    /// While catching up, no new batch before this time.
    private var notBefore: UInt64 = 0
    /// How often the schedule had to be moved forward.
    private(set) var slips = 0

    init(mode: StressConfig.Mode, burst: Int, start: UInt64) {
        self.mode = mode
        self.burst = max(1, burst)
        origin = start
        if case .rate(let r) = mode {
            nanosPerRequest = 1e9 / r
            maxDebt = max(UInt64(self.burst), UInt64(r / 10))
        } else {
            nanosPerRequest = 0
            maxDebt = 0
        }
    }

    /// How many requests to send now, `sent` having gone out and `outstanding` awaiting a
    /// reply.
    mutating func allowance(now: UInt64, sent: UInt64, outstanding: Int) -> Int {
        switch mode {
        case .window(let window):
            return max(0, window - outstanding)
        case .rate:
            guard now >= notBefore else { return 0 }
            let due = dueCount(at: now)
            guard due > sent else { return 0 }
            let owed = due - sent
            if owed > maxDebt {
                // Too far behind to catch up: restart the schedule so that exactly `burst`
                // are owed now.
                slips += 1
                origin = now
                originCount = sent + UInt64(burst) - 1
                return burst
            }
            if owed > UInt64(burst) {
                notBefore = now + UInt64(Double(burst) * nanosPerRequest / 2)
                return burst
            }
            return Int(owed)
        }
    }

    /// When the request after the first `sent` is due (rate mode); nil in window mode.
    func nextDue(sent: UInt64) -> UInt64? {
        guard case .rate = mode else { return nil }
        let ahead = sent >= originCount ? Double(sent - originCount) : 0
        // One nanosecond past the exact instant, so rounding never wakes the loop too early.
        return max(notBefore, origin + UInt64((ahead * nanosPerRequest).rounded(.up)) + 1)
    }

    /// Requests due by `now`: the first at the origin, then one every 1/rate.
    private func dueCount(at now: UInt64) -> UInt64 {
        guard now >= origin else { return originCount }
        return originCount + UInt64(Double(now - origin) / nanosPerRequest) + 1
    }
}
