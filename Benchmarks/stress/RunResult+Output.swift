/// The three ways a result is printed: the parseable line, JSON, and a summary for people.
extension RunResult {
    /// One field of the result line: numbers stay bare in JSON, text is quoted.
    enum FieldValue {
        case text(String)
        case number(String)

        var plain: String {
            switch self {
            case .text(let s), .number(let s): return s
            }
        }
    }

    /// The result's fields in print order: the benchmark's headline figures first, then the
    /// detail behind `unexpected` and the client's own health.
    func fields(extra: [(String, FieldValue)] = []) -> [(String, FieldValue)] {
        var f: [(String, FieldValue)] = [
            ("target", .text(target.description)),
            ("method", .text(method)),
        ]
        switch mode {
        case .rate(let r):
            f.append(("mode", .text("rate")))
            f.append(("rate", .number(RunResult.formatNumber(r))))
        case .window(let w):
            f.append(("mode", .text("window")))
            f.append(("window", .number(String(w))))
        }
        f += extra
        let counts: [(String, UInt64)] = [
            ("sent", sent), ("answered", answered), ("lost", lost),
            ("unexpected", unexpected), ("provisional", provisional),
        ]
        f += counts.map { ($0.0, .number(String($0.1))) }
        f.append(("seconds", .number(RunResult.twoDecimals(seconds))))
        f.append(("req_per_s", .number(String(Int64(requestsPerSecond.rounded())))))
        let percentiles: [(String, Double)] = [("p50_us", 50), ("p90_us", 90), ("p99_us", 99), ("p999_us", 99.9)]
        f += percentiles.map { ($0.0, .number(String(latencyMicros($0.1)))) }
        f.append(("max_us", .number(String(maxLatencyMicros))))
        // The fastest answer: what a "never early" check (async_ms_sleep) needs.
        f.append(("min_us", .number(String(minLatencyMicros == .max ? 0 : minLatencyMicros))))
        f.append(("expect", .text(expect.description)))
        let details: [(String, UInt64)] = [
            ("unmatched", unmatched), ("bad_status", badStatus), ("duplicates", duplicates),
            ("send_errors", sendErrors), ("acks", acks), ("slips", UInt64(slips)),
        ]
        f += details.map { ($0.0, .number(String($0.1))) }
        return f
    }

    /// `stress key=value ...` on one line (values never contain spaces).
    func resultLine(prefix: String = "stress", extra: [(String, FieldValue)] = []) -> String {
        ([prefix] + fields(extra: extra).map { "\($0.0)=\($0.1.plain)" }).joined(separator: " ")
    }

    /// The same fields as one JSON object, plus the status breakdown.
    func json(extra: [(String, FieldValue)] = []) -> String {
        var parts = fields(extra: extra).map { key, value -> String in
            switch value {
            case .text(let s): return "\"\(key)\":\"\(RunResult.jsonEscaped(s))\""
            case .number(let s): return "\"\(key)\":\(s)"
            }
        }
        let statuses = statusCounts.keys.sorted().map { "\"\($0)\":\(statusCounts[$0]!)" }
        parts.append("\"statuses\":{\(statuses.joined(separator: ","))}")
        parts.append("\"clean\":\(isClean)")
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A few lines for a person reading the terminal.
    func summary() -> String {
        var lines: [String] = []
        let modeText: String
        switch mode {
        case .rate(let r): modeText = "at \(RunResult.formatNumber(r)) req/s"
        case .window(let w): modeText = "with a window of \(w)"
        }
        lines.append("respite-stress: \(method) to \(target) \(modeText), expecting \(expect)")
        lines.append("  sent \(sent) in \(RunResult.twoDecimals(seconds)) s: \(Int64(requestsPerSecond.rounded())) req/s"
            + (slips > 0 ? " (schedule slipped \(slips) times: the client fell behind)" : ""))
        lines.append("  answered \(answered), lost \(lost), unexpected \(unexpected)"
            + " (\(unmatched) unmatched, \(badStatus) bad status), provisional \(provisional)"
            + (duplicates > 0 ? ", duplicate finals \(duplicates)" : "")
            + (acks > 0 ? ", ACKs sent \(acks)" : ""))
        if !statusCounts.isEmpty {
            let statuses = statusCounts.keys.sorted().map { "\($0) x\(statusCounts[$0]!)" }
            lines.append("  final replies: " + statuses.joined(separator: ", "))
        }
        if latency.totalCount > 0 {
            lines.append("  latency us: p50 \(latencyMicros(50)), p90 \(latencyMicros(90)), p99 \(latencyMicros(99)),"
                + " p99.9 \(latencyMicros(99.9)), max \(maxLatencyMicros) (min \(latency.min), mean \(Int64(latency.mean.rounded())))")
        }
        if sendErrors > 0 {
            lines.append("  send buffer full \(sendErrors) times: those requests were not sent")
        }
        if sent > 0, answered == 0, unexpected == 0 {
            lines.append("  no replies at all: is a SIP server listening on udp:\(target)?")
        }
        lines.append("  request \(requestBytes) bytes, receive buffer \(receiveBufferBytes / 1024) KiB; " + (isClean ? "clean run" : "NOT clean"))
        return lines.joined(separator: "\n")
    }

    /// `s` with JSON's mandatory escapes.
    static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case let c where c.value < 0x20: out += "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
