/// Which reply completes a request as answered (`--expect`).
///
/// By default any final 2xx. A provisional status (1xx) may be named too: a request then
/// completes on that provisional, and whatever final follows is only acknowledged.
enum Expectation: Sendable, Equatable, CustomStringConvertible {
    /// Exactly this status code.
    case status(Int)
    /// Any status of this class: 2 for 2xx.
    case statusClass(Int)

    /// Parses `200`, `2xx` (any class 1-6).
    init?(parsing text: String) {
        let lower = text.lowercased()
        if lower.count == 3, lower.hasSuffix("xx"), let c = Int(lower.prefix(1)), (1...6).contains(c) {
            self = .statusClass(c)
        } else if let code = Int(lower), (100...699).contains(code) {
            self = .status(code)
        } else {
            return nil
        }
    }

    /// True when a reply with `statusCode` answers the request as expected.
    func accepts(_ statusCode: Int) -> Bool {
        switch self {
        case .status(let code): return statusCode == code
        case .statusClass(let c): return statusCode / 100 == c
        }
    }

    /// True when provisional replies can complete a request (only when one is expected).
    var completesOnProvisional: Bool {
        switch self {
        case .status(let code): return code < 200
        case .statusClass(let c): return c == 1
        }
    }

    var description: String {
        switch self {
        case .status(let code): return String(code)
        case .statusClass(let c): return "\(c)xx"
        }
    }
}
