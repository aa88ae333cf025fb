import Shared

/// Bounds the log lines one process writes about one kind of event (a malformed
/// datagram) per source, so that a flood cannot flood the log, while every event stays
/// counted.
///
/// Time runs in windows of `windowNs` (one second), each opened by the first event after
/// the previous one closed. In a window each source address (the host, whatever the port)
/// gets its first `perSource` lines; later events are held back and counted. When a
/// window has held anything back, the first call after it closes (`admit` or
/// `closeWindow`) returns one summary line with the exact numbers, per source and in
/// total. The caller counts each held-back line in the process table as well
/// (`logSuppressed`), so nothing is hidden even before the summary is written.
///
/// Memory is fixed: a table of `maxSources` sources per window. When it is full, the
/// sources that find no room share one more entry ("other sources") with the same budget,
/// so a window writes at most `(maxSources + 1) * perSource` lines and one summary.
///
/// Per process, single-threaded: each receiver owns one.
struct LogRateLimiter {
    /// Lines written per source and window.
    let perSource: Int
    /// Sources tracked one by one per window.
    let maxSources: Int
    let windowNs: UInt64

    /// One source's tally in the current window.
    struct Entry {
        /// nil: the shared entry of the sources that found no room.
        var source: SocketAddress?
        var written: Int
        var held: Int
    }

    /// The current window's sources, at most `maxSources`, then the shared entry.
    private var entries: [Entry] = []
    private var overflow = Entry(source: nil, written: 0, held: 0)
    /// When the current window opened; nil when none is open.
    private var windowStart: UInt64?
    /// Events held back in the current window, all sources.
    private var held = 0

    init(perSource: Int = 10, maxSources: Int = 16, windowNs: UInt64 = 1_000_000_000) {
        precondition(perSource > 0 && maxSources > 0 && windowNs > 0)
        self.perSource = perSource
        self.maxSources = maxSources
        self.windowNs = windowNs
        entries.reserveCapacity(maxSources)
    }

    /// What to do with one event.
    struct Verdict {
        /// The summary of the window that just closed, to write before anything else.
        var summary: String?
        /// Whether to write the event's own line (false: it is held back; count it).
        var write: Bool
    }

    /// Records one event from `source` at monotonic time `nowNs`.
    mutating func admit(_ source: SocketAddress, nowNs: UInt64) -> Verdict {
        let summary = closeWindow(nowNs: nowNs)
        if windowStart == nil { windowStart = nowNs }
        let host = source.withPort(0)
        let write: Bool
        if let i = entries.firstIndex(where: { $0.source == host }) {
            write = Self.count(&entries[i], perSource)
        } else if entries.count < maxSources {
            entries.append(Entry(source: host, written: 1, held: 0))
            write = true
        } else {
            write = Self.count(&overflow, perSource)
        }
        if !write { held += 1 }
        return Verdict(summary: summary, write: write)
    }

    /// Closes the current window if it has lasted `windowNs` by `nowNs`: returns its
    /// summary when it held anything back (nil otherwise).
    mutating func closeWindow(nowNs: UInt64) -> String? {
        guard let start = windowStart, nowNs &- start >= windowNs else { return nil }
        let seconds = Double(nowNs - start) / 1e9
        let summary = Self.summary(entries + [overflow], seconds: seconds)
        entries.removeAll(keepingCapacity: true)
        overflow = Entry(source: nil, written: 0, held: 0)
        windowStart = nil
        held = 0
        return summary
    }

    /// When the open window closes, if it has held anything back (the receiver then wakes
    /// up to write the summary even if nothing else arrives); nil otherwise.
    var summaryDueNs: UInt64? {
        guard held > 0, let start = windowStart else { return nil }
        return start + windowNs
    }

    /// Counts one event against `entry`: true while it is within the budget.
    private static func count(_ entry: inout Entry, _ budget: Int) -> Bool {
        if entry.written < budget {
            entry.written += 1
            return true
        }
        entry.held += 1
        return false
    }

    /// "N lines not written in the last 1.0 s (127.0.0.1: 1990, ...)": the sources that
    /// were held back, most first (the first five by name, the rest summed).
    private static func summary(_ tallies: [Entry], seconds: Double) -> String? {
        let held = tallies.filter { $0.held > 0 }.sorted { $0.held > $1.held }
        guard !held.isEmpty else { return nil }
        let total = held.reduce(0) { $0 + $1.held }
        var parts = held.prefix(5).map { "\($0.source?.uriHost ?? "other sources"): \($0.held)" }
        if held.count > 5 {
            parts.append("\(held.count - 5) more sources: \(held.dropFirst(5).reduce(0) { $0 + $1.held })")
        }
        let window = (seconds * 10).rounded() / 10
        return "\(total) line\(total == 1 ? "" : "s") not written in the last \(window) s (\(parts.joined(separator: ", ")))"
    }
}
