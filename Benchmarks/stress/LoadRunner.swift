import SIP
import Shared

/// One load test: a single-threaded event loop over one UDP socket that sends requests as
/// the `Pacer` allows, matches every reply to its request through the `PendingTable`, and
/// times out what stays unanswered.
///
/// Each turn of the loop: send what is due, expire what timed out, then sleep in
/// `pselect` until a reply arrives, the next request is due or the next deadline passes,
/// and read every waiting reply, stamping each as it is read. Replies are matched with
/// `TransactionKey.fast` (start line, top Via and CSeq only); a final reply to INVITE is
/// parsed in full, for the To tag its ACK needs. The run ends by itself: sending stops at
/// the count or the duration, and every request sent is answered or lost within the
/// timeout after that.
struct LoadRunner: ~Copyable {
    private let config: StressConfig
    private let socket: DatagramSocket
    private let factory: RequestFactory
    private var table: PendingTable
    private var pacer: Pacer
    private var result: RunResult
    private var out = MessageBuffer(capacity: 2048)
    private var receiveBuffer = [UInt8](repeating: 0, count: 65536)
    /// Numbers handed out so far (including requests the kernel refused).
    private var numbered: UInt64 = 0
    /// Monotonic nanoseconds of the last completion, for window mode's throughput.
    private var lastCompletion: UInt64 = 0
    /// After the kernel refused a send, no new send before this time.
    private var backoffUntil: UInt64 = 0

    /// Opens the socket; nothing is sent before `run`.
    init(config: StressConfig) throws(SystemCallError) {
        self.config = config
        // Non-blocking: one thread sends and receives, waiting only in `waitReadable`.
        // The kernel caps both buffers at net.core.{r,w}mem_max without failing; the
        // granted sizes are read back and shown in the summary.
        socket = try DatagramSocket(binding: config.bind, options: .init(
            blocking: false, receiveBufferBytes: config.socketBufferBytes, sendBufferBytes: config.socketBufferBytes))
        factory = RequestFactory(method: config.method, requestURI: config.requestURI, local: socket.address,
                                 nonce: UInt32.random(in: 1...UInt32.max))
        let expected: Int
        switch config.mode {
        case .rate(let r): expected = Int(min(r * (Double(config.timeoutNanos) / 1e9 + 1), 2_000_000))
        case .window(let w): expected = w * 4
        }
        table = PendingTable(expectedCapacity: expected)
        pacer = Pacer(mode: config.mode, burst: config.burst, start: 0)
        result = RunResult(config: config)
        result.receiveBufferBytes = socket.receiveBufferBytes
        factory.request(1, into: &out)
        result.requestBytes = out.count
    }

    /// Runs the test to its end and returns what it counted.
    consuming func run() throws(SystemCallError) -> RunResult {
        MonotonicClock.tightenTimerSlack()
        let start = MonotonicClock.now()
        let endAt = start + config.durationNanos
        pacer = Pacer(mode: config.mode, burst: config.burst, start: start)
        lastCompletion = start
        var sending = true
        var sendEnd = start
        while true {
            let now = MonotonicClock.now()
            if sending, let end = stopTime(now: now, endAt: endAt) {
                sending = false
                sendEnd = end
            }
            if sending, now >= backoffUntil {
                try sendDue(now: now)
            }
            result.lost += UInt64(table.expire(now: MonotonicClock.now()))
            if !sending, table.outstanding == 0 { break }
            var wake = table.nextDeadline
            if sending {
                var next = endAt
                if let due = pacer.nextDue(sent: numbered) { next = min(next, due) }
                if backoffUntil > now { next = max(next, backoffUntil) }
                wake = min(wake ?? next, next)
            }
            if try socket.waitReadable(until: wake) {
                try receiveAll()
            }
        }
        result.lost += UInt64(table.expireAll())
        result.slips = pacer.slips
        let measuredEnd: UInt64
        if case .window = config.mode { measuredEnd = lastCompletion > start ? lastCompletion : MonotonicClock.now() }
        else { measuredEnd = sendEnd }
        result.seconds = MonotonicClock.seconds(measuredEnd - start)
        return result
    }

    /// When sending is over: the end of the sending phase, or nil to go on.
    private func stopTime(now: UInt64, endAt: UInt64) -> UInt64? {
        if let count = config.count, numbered >= count {
            // Rate mode: the phase lasts until the next request would have been due, so
            // `count` requests at `rate` take count/rate seconds.
            return pacer.nextDue(sent: numbered).map { min($0, endAt) } ?? now
        }
        if let due = pacer.nextDue(sent: numbered) {
            return due >= endAt ? endAt : nil
        }
        return now >= endAt ? endAt : nil
    }

    /// Sends what the pacer allows now, within the count.
    private mutating func sendDue(now: UInt64) throws(SystemCallError) {
        var allowed = pacer.allowance(now: now, sent: numbered, outstanding: table.outstanding)
        if let count = config.count { allowed = min(allowed, Int(clamping: count - numbered)) }
        var i = 0
        while i < allowed {
            numbered += 1
            let number = numbered
            factory.request(number, into: &out)
            let sentAt = MonotonicClock.now()
            switch try socket.send(out.bytes, to: config.target) {
            case .done:
                result.sent += 1
                table.insert(factory.key(number), number: number, sentAt: sentAt, deadline: sentAt + config.timeoutNanos)
            case .wouldBlock:
                // The kernel's queue is full: back off briefly rather than spin.
                result.sendErrors += 1
                backoffUntil = sentAt + 100_000
                return
            }
            i += 1
        }
    }

    /// Reads every datagram waiting (up to a batch, so sending is never starved).
    private mutating func receiveAll() throws(SystemCallError) {
        var batch = 0
        while batch < 512, case .done(let n) = try socket.receiveIgnoringSender(into: &receiveBuffer) {
            let at = MonotonicClock.now()
            try handle(Array(receiveBuffer[0..<n]), at: at)
            batch += 1
        }
    }

    /// What a reply meant for its request.
    private enum ReplyEffect {
        case provisional
        case answered(latencyNanos: UInt64)
        case refused
        /// A final after the request completed on an expected provisional.
        case finalAfterProvisional
        case duplicate
    }

    /// Matches one datagram, counts it, and ACKs a final reply to INVITE.
    private mutating func handle(_ bytes: [UInt8], at: UInt64) throws(SystemCallError) {
        guard let match = TransactionKey.fast(bytes), !match.isRequest else {
            result.unmatched += 1
            return
        }
        let status = match.statusCode
        let expect = config.expect
        let found = table.update(match.key) { entry -> (ReplyEffect, UInt64) in
            if status < 200 {
                if !entry.completed, expect.completesOnProvisional, expect.accepts(status) {
                    entry.completed = true
                    return (.answered(latencyNanos: at - entry.sentAt), entry.number)
                }
                return (.provisional, entry.number)
            }
            if entry.finalSeen { return (.duplicate, entry.number) }
            entry.finalSeen = true
            if entry.completed { return (.finalAfterProvisional, entry.number) }
            entry.completed = true
            if expect.accepts(status) { return (.answered(latencyNanos: at - entry.sentAt), entry.number) }
            return (.refused, entry.number)
        }
        guard let (effect, number) = found else {
            result.unmatched += 1
            return
        }
        if status < 200 { result.provisional += 1 }
        switch effect {
        case .answered(let nanos):
            result.answered += 1
            _ = result.latency.record(max(1, (nanos + 500) / 1000))
            result.minLatencyMicros = min(result.minLatencyMicros, nanos / 1000)
            lastCompletion = at
        case .refused:
            result.badStatus += 1
            lastCompletion = at
        case .duplicate:
            result.duplicates += 1
        case .provisional, .finalAfterProvisional:
            break
        }
        if status >= 200 {
            if case .duplicate = effect {} else { result.statusCounts[status, default: 0] += 1 }
            if match.method == .invite { try acknowledge(bytes, number: number) }
        }
    }

    /// Sends the ACK for a final reply to INVITE `number` (again for a retransmitted one).
    private mutating func acknowledge(_ bytes: [UInt8], number: UInt64) throws(SystemCallError) {
        guard let response = try? SIPMessage.parse(bytes) else { return }
        factory.ack(number, response: response, into: &out)
        switch try socket.send(out.bytes, to: config.target) {
        case .done: result.acks += 1
        case .wouldBlock: result.sendErrors += 1
        }
    }
}
