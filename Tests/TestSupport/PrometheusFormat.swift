import Foundation

/// The Prometheus text exposition format (0.0.4) as far as a scraper checks it.
public enum PrometheusFormat {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every line is a comment (`# HELP name ...`, `# TYPE name counter|gauge|...`, any
    /// other `#` line) or a sample `name{label="value",...} number`; a name matches
    /// [a-zA-Z_:][a-zA-Z0-9_:]*; each name has at most one TYPE line, before its samples;
    /// the text ends with "\n".
    public static func check(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Invalid(description: "the exposition does not end with a newline") }
        let name = try Regex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")
        let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$"#)
        var typed: Set<String> = [], sampled: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("#") {
                // Other comments are allowed; HELP and TYPE lines must be well formed.
                guard line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") else { continue }
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[0] == "#", ["HELP", "TYPE"].contains(parts[1]),
                      String(parts[2]).wholeMatch(of: name) != nil else { throw Invalid(description: "bad comment: \(line)") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3])),
                          typed.insert(String(parts[2])).inserted, !sampled.contains(String(parts[2]))
                    else { throw Invalid(description: "bad or repeated TYPE: \(line)") }
                }
                continue
            }
            guard let m = String(line).wholeMatch(of: sample) else { throw Invalid(description: "bad sample: \(line)") }
            let metric = String(m.output[1].substring ?? "")
            guard typed.contains(metric) else { throw Invalid(description: "sample without TYPE: \(line)") }
            sampled.insert(metric)
        }
        guard !sampled.isEmpty else { throw Invalid(description: "no samples") }
    }
}
