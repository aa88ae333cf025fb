import Foundation

/// Trimming a piece of a string without copying it first: the runtime's parsers of header
/// values, parameters and config values share these.
extension Substring {
    /// Without leading and trailing blanks (space, tab), still a slice of the same string:
    /// what the per-request paths use.
    var trimmingSpaces: Substring {
        let start = drop { $0 == " " || $0 == "\t" }
        guard let last = start.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return start[start.startIndex..<start.startIndex] }
        return start[...last]
    }

    /// Without any of `set`'s characters at either end, as a new string (Foundation's
    /// trimming; for load-time and management paths).
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
