#if canImport(Glibc)
import Glibc
#endif

/// DATETIME columns (acc's `time`, usrloc's `expires` and `last_modified`) as Kamailio's
/// drivers write and read them, so that Kamailio and Respite read each other's rows:
/// db_sqlite keeps a Julian day number (REAL) shifted by half a second; db_postgres sends
/// the local time as `YYYY-MM-DD HH:MM:SS` text.
public enum DatabaseTime {
    /// Days from the Julian epoch to 1970-01-01 00:00 UTC.
    static let unixEpochJulianDay = 2_440_587.5

    /// The value to bind for a time (seconds since 1970) on `engine`.
    public static func value(_ seconds: Int, engine: DatabaseURL.Engine) -> DatabaseValue {
        switch engine {
        case .sqlite: return .double((Double(seconds) - 0.5) / 86_400 + unixEpochJulianDay)
        case .postgres: return .text(localText(seconds))
        }
    }

    /// A stored time back in seconds since 1970: a Julian day (SQLite, as db_sqlite writes
    /// it), a `YYYY-MM-DD HH:MM:SS` local time (PostgreSQL, or text in SQLite), or a number
    /// of seconds. nil for NULL or text that is none of these.
    public static func seconds(_ value: DatabaseValue) -> Int? {
        switch value {
        case .double(let d): return julianSeconds(d)
        case .int(let n): return n > 10_000_000 ? Int(n) : julianSeconds(Double(n))
        case .text(let s): return parseLocal(s) ?? Double(s).flatMap(julianSeconds)
        case .null, .blob: return nil
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` in local time.
    public static func localText(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    private static func julianSeconds(_ day: Double) -> Int? {
        guard day.isFinite, day > 0 else { return nil }
        // The stored day is half a second early (db_sqlite's shift); rounding to the
        // nearest second, not truncating, keeps a value read back from losing a second to
        // the floating point error.
        return Int((86_400 * (day - unixEpochJulianDay) + 0.5).rounded())
    }

    /// Local `YYYY-MM-DD HH:MM:SS` (PostgreSQL may add fractions or a zone: ignored).
    private static func parseLocal(_ text: String) -> Int? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).prefix(6).compactMap { Int32($0) }
        guard digits.count == 6, text.count >= 19 else { return nil }
        var parts = tm()
        parts.tm_year = digits[0] - 1900
        parts.tm_mon = digits[1] - 1
        parts.tm_mday = digits[2]
        parts.tm_hour = digits[3]
        parts.tm_min = digits[4]
        parts.tm_sec = digits[5]
        parts.tm_isdst = -1
        let t = mktime(&parts)
        return t == -1 ? nil : Int(t)
    }
}
