/// A place in a configuration file: the file as it was named when read, 1-based line and column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, the prefix every diagnostic starts with.
    public var description: String { "\(file):\(line):\(column)" }

    /// The same place moved `columns` to the right (a position inside a string literal).
    func advanced(by columns: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + columns)
    }
}

/// One finding of the loader: an error stops the config from loading, a warning does not.
public struct Diagnostic: Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error, warning
    }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    /// `file:line:column: error: message`, without the excerpt.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// The diagnostics of one load, in the order they were found, plus the source texts needed to
/// show the offending line under each one. It keeps the first `ScriptLimits.maxErrors` errors;
/// the next one becomes "too many errors, stopping" (always the last item) and sets `stopped`,
/// which tells every stage to stop, so a broken file costs time linear in its size.
public struct Diagnostics: Sendable {
    public private(set) var items: [Diagnostic] = []
    /// File name -> its text, so `rendered()` can quote the line a diagnostic points at.
    var sources: [String: String] = [:]
    /// The errors kept (the closing "too many errors" line not counted).
    public private(set) var errorCount = 0
    public private(set) var warningCount = 0
    /// True once the error limit was passed: later errors are dropped, and the stages stop.
    public private(set) var stopped = false

    static let stopMessage = "too many errors, stopping"
    static let quietMessage = "too many warnings, not showing more"

    public init() {}

    public var hasErrors: Bool { errorCount > 0 }
    /// The errors found, without the closing "too many errors" line.
    public var errors: [Diagnostic] {
        items.prefix(stopped ? items.count - 1 : items.count).filter { $0.severity == .error }
    }

    public mutating func error(_ message: String, at location: SourceLocation) {
        guard !stopped else { return }
        if errorCount == ScriptLimits.maxErrors {
            stopped = true
            items.append(Diagnostic(severity: .error, location: location, message: Self.stopMessage))
            return
        }
        errorCount += 1
        items.append(Diagnostic(severity: .error, location: location, message: message))
    }

    public mutating func warning(_ message: String, at location: SourceLocation) {
        guard !stopped, warningCount <= ScriptLimits.maxWarnings else { return }
        warningCount += 1
        let text = warningCount > ScriptLimits.maxWarnings ? Self.quietMessage : message
        items.append(Diagnostic(severity: .warning, location: location, message: text))
    }

    /// Orders the diagnostics by file (in the order files were read), line and column, so
    /// the findings of different stages read top to bottom; "too many errors" stays last.
    mutating func sortByLocation() {
        let stop = stopped ? items.removeLast() : nil
        var fileOrder: [String: Int] = [:]
        for d in items where fileOrder[d.location.file] == nil { fileOrder[d.location.file] = fileOrder.count }
        items = items.enumerated().sorted { a, b in
            let (x, y) = (a.element.location, b.element.location)
            let (fx, fy) = (fileOrder[x.file]!, fileOrder[y.file]!)
            if fx != fy { return fx < fy }
            if x.line != y.line { return x.line < y.line }
            if x.column != y.column { return x.column < y.column }
            return a.offset < b.offset
        }.map(\.element)
        if let stop { items.append(stop) }
    }

    /// Adds another stage's findings after these, under the same limits.
    mutating func append(contentsOf other: Diagnostics) {
        sources.merge(other.sources) { a, _ in a }
        let kept = other.stopped ? other.items.dropLast() : other.items[...]
        for d in kept {
            switch d.severity {
            case .error: error(d.message, at: d.location)
            case .warning where d.message == Self.quietMessage:
                // Over the other's warning limit: so over ours too.
                warningCount = max(warningCount, ScriptLimits.maxWarnings)
                warning(d.message, at: d.location)
            case .warning: warning(d.message, at: d.location)
            }
        }
        if other.stopped && !stopped, let last = other.items.last {
            // The other stage stopped early: what it did not look at is unknown, so stop too.
            stopped = true
            items.append(last)
        }
    }

    /// Every diagnostic as `file:line:column: severity: message`, followed (when the source is
    /// known) by the offending line and a caret under the column. Each file's lines are found
    /// once, so the cost is linear in the sources and the report.
    public func rendered(withExcerpts: Bool = true) -> String {
        var out = ""
        var lines: [String: LineIndex] = [:]
        for d in items {
            out += d.description + "\n"
            guard withExcerpts, let text = sources[d.location.file] else { continue }
            if lines[d.location.file] == nil { lines[d.location.file] = LineIndex(text) }
            guard let line = lines[d.location.file]!.line(d.location.line) else { continue }
            out += "    " + line + "\n"
            let pad = String(line.prefix(max(0, d.location.column - 1)).map { $0 == "\t" ? "\t" : " " })
            out += "    " + pad + "^\n"
        }
        return out
    }
}

/// Where each line of a text starts, found in one pass, so any line is cut out in O(its length).
private struct LineIndex {
    let bytes: [UInt8]
    var starts: [Int] = [0]

    init(_ text: String) {
        bytes = Array(text.utf8)
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
    }

    /// Line `number` (1-based) without its line break (`\n` or `\r\n`), or nil past the end.
    func line(_ number: Int) -> String? {
        guard number >= 1 && number <= starts.count else { return nil }
        var end = number < starts.count ? starts[number] - 1 : bytes.count
        if end > starts[number - 1] && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[starts[number - 1]..<end], as: UTF8.self)
    }
}
