import Glibc
import Shared

/// `--find-max`: runs steps of fixed rate, each `stepFactor` faster than the one before
/// (e.g. +10% every 8 s), until a step loses a request or gets an
/// unexpected reply, and reports the last clean rate.
///
/// A step whose achieved rate falls short of its target by more than 3% also ends the
/// search: the client, not the server, is then the limit, and the report says so. The
/// whole search stays within `StressConfig.maxDurationSeconds` of sending.
struct RateFinder {
    let base: StressConfig
    /// Rate multiplier between steps (1.1 for +10%).
    let stepFactor: Double
    /// No step above this rate.
    let maxRate: Double
    /// Called with one `stress-step ...` line after each step.
    let progress: ((String) -> Void)?

    /// What the search found, ready to print.
    struct Outcome {
        /// True when at least one step was clean.
        let found: Bool
        let summary: String
        let resultLine: String
        let json: String
    }

    /// Why stepping stopped.
    private enum StopReason: String {
        case loss, client = "client-limited", maxRate = "max-rate", time
    }

    /// Runs the steps; each opens its own socket, so late replies of one step cannot be
    /// mistaken for replies of the next.
    func run() throws(SystemCallError) -> Outcome {
        guard case .rate(var rate) = base.mode else { preconditionFailure("find-max needs rate mode") }
        let stepSeconds = Double(base.durationNanos) / 1e9
        var lastClean: RunResult?
        var lastStep: RunResult?
        var steps = 0
        var spent = 0.0
        var reason = StopReason.maxRate
        while true {
            var config = base
            config.mode = .rate(rate)
            if config.burstIsDefault { config.burst = StressConfig.defaultBurst(rate: rate) }
            let result = try LoadRunner(config: config).run()
            steps += 1
            spent += stepSeconds
            lastStep = result
            let keptUp = result.requestsPerSecond >= rate * 0.97
            progress?(result.resultLine(prefix: "stress-step", extra: [
                ("step", .number(String(steps))), ("clean", .text(result.isClean && keptUp ? "yes" : "no")),
            ]))
            if !result.isClean { reason = .loss; break }
            if !keptUp { reason = .client; break }
            lastClean = result
            let next = (rate * stepFactor).rounded()
            if next > maxRate { reason = .maxRate; break }
            if spent + stepSeconds > StressConfig.maxDurationSeconds { reason = .time; break }
            rate = max(next, rate + 1)
            // Let the server finish what the last step left before the next one starts.
            usleep(500_000)
        }
        return outcome(lastClean: lastClean, lastStep: lastStep!, steps: steps, reason: reason)
    }

    private func outcome(lastClean: RunResult?, lastStep: RunResult, steps: Int, reason: StopReason) -> Outcome {
        var maxRateFound = 0.0
        if let clean = lastClean, case .rate(let r) = clean.mode { maxRateFound = r }
        var stopRate = 0.0
        if case .rate(let r) = lastStep.mode { stopRate = r }
        let extra: [(String, RunResult.FieldValue)] = [
            ("find_max", .text("yes")),
            ("max_rate", .number(RunResult.formatNumber(maxRateFound))),
            ("stop_rate", .number(RunResult.formatNumber(stopRate))),
            ("stop", .text(reason.rawValue)),
            ("steps", .number(String(steps))),
        ]
        let shown = lastClean ?? lastStep
        var lines = ["respite-stress --find-max: \(steps) steps of \(RunResult.twoDecimals(Double(base.durationNanos) / 1e9)) s"]
        switch reason {
        case .loss:
            lines.append("  the step at \(RunResult.formatNumber(stopRate)) req/s was not clean: lost \(lastStep.lost), unexpected \(lastStep.unexpected), send errors \(lastStep.sendErrors)")
        case .client:
            lines.append("  the client could not keep \(RunResult.formatNumber(stopRate)) req/s (achieved \(Int64(lastStep.requestsPerSecond))): the limit is here, not in the server")
        case .maxRate:
            lines.append("  reached --max-rate without a failure")
        case .time:
            lines.append("  stopped at the \(Int(StressConfig.maxDurationSeconds)) s budget without a failure")
        }
        if lastClean != nil {
            lines.append("  last clean rate: \(RunResult.formatNumber(maxRateFound)) req/s; at that rate:")
        } else {
            lines.append("  no clean step; the first step:")
        }
        lines.append(shown.summary())
        return Outcome(found: lastClean != nil, summary: lines.joined(separator: "\n"),
                       resultLine: shown.resultLine(extra: extra), json: shown.json(extra: extra))
    }
}
