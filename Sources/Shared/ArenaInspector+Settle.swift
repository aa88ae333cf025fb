#if canImport(Glibc)
import Glibc
#endif

/// Telling a structure that moved under the reader from a damaged one.
///
/// The inspector takes no lock, so on a loaded server a walk meets links that a server
/// process moves, fires or frees in the middle of it (a timer link that changed slot, a
/// transaction freed and its memory reused). That is a change, not damage. So each
/// structure (one section: the allocator, the queues, `$shv`, `$sht`, the transaction
/// table, one timer wheel) is read again, up to `maxReads` times with a short pause,
/// until one read checks out; only what stays inconsistent in every read is a problem.
///
/// Counts that the server changes all the time (armed links, live transactions, queue
/// depths, items, what a walk found against the header's counter) are never problems
/// while the structure moves: a read that saw the structure change sets the report's
/// `approximate` flag for it (each count was true at some moment of the read, not
/// necessarily the same one). A count that disagrees with the walk while the structure
/// stood still is damage, and reported (`readWheel`).
extension ArenaInspector {
    /// One structure's read: the value and problems of the last read made, and how many.
    struct SettledRead<T> {
        var value: T
        var problems: [String]
        var reads: Int
    }

    /// Calls `read` until it reports no problem and `clean` accepts its value, at most
    /// `maxReads` times, pausing `n * rereadPauseMicroseconds` before the n-th read again.
    /// When every read failed, the last one's problems are returned, each saying so.
    func settled<T>(_ read: (inout [String]) -> T, clean: (T) -> Bool = { _ in true }) -> SettledRead<T> {
        let limit = max(1, maxReads)
        var reads = 0
        while true {
            reads += 1
            var problems: [String] = []
            let value = read(&problems)
            let ok = problems.isEmpty && clean(value)
            if ok || reads >= limit {
                if !ok && limit > 1 { problems = problems.map { "\($0) (in all \(reads) reads)" } }
                return SettledRead(value: value, problems: problems, reads: reads)
            }
            usleep(rereadPauseMicroseconds * UInt32(reads))
        }
    }
}
