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
/// show the offending line under each one.
public struct Diagnostics: Sendable {
    public private(set) var items: [Diagnostic] = []
    /// File name -> its text, so `rendered()` can quote the line a diagnostic points at.
    var sources: [String: String] = [:]

    public init() {}

    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }

    public mutating func error(_ message: String, at location: SourceLocation) {
        items.append(Diagnostic(severity: .error, location: location, message: message))
    }

    public mutating func warning(_ message: String, at location: SourceLocation) {
        items.append(Diagnostic(severity: .warning, location: location, message: message))
    }

    /// Orders the diagnostics by file (in the order files were read), line and column, so
    /// the findings of different stages read top to bottom.
    mutating func sortByLocation() {
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
    }

    mutating func append(contentsOf other: Diagnostics) {
        items.append(contentsOf: other.items)
        sources.merge(other.sources) { a, _ in a }
    }

    /// Every diagnostic as `file:line:column: severity: message`, followed (when the source is
    /// known) by the offending line and a caret under the column.
    public func rendered(withExcerpts: Bool = true) -> String {
        var out = ""
        for d in items {
            out += d.description + "\n"
            guard withExcerpts, let text = sources[d.location.file],
                  let line = Self.line(d.location.line, of: text) else { continue }
            out += "    " + line + "\n"
            let pad = String(line.prefix(max(0, d.location.column - 1)).map { $0 == "\t" ? "\t" : " " })
            out += "    " + pad + "^\n"
        }
        return out
    }

    private static func line(_ number: Int, of text: String) -> String? {
        var current = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == number { return String(line) }
            current += 1
        }
        return nil
    }
}
