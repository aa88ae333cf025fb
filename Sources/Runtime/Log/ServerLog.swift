import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Kamailio's log levels, with its numbers: a message is written when its level is at
/// most the core parameter `debug`.
public enum LogLevel: Int, Sendable, Comparable {
    case alert = -5, bug = -4, critical = -3, error = -1, warning = 0, notice = 1, info = 2, debug = 3

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    /// The word Kamailio prints.
    public var label: String {
        switch self {
        case .alert: return "ALERT"
        case .bug: return "BUG"
        case .critical: return "CRITICAL"
        case .error: return "ERROR"
        case .warning: return "WARNING"
        case .notice: return "NOTICE"
        case .info: return "INFO"
        case .debug: return "DEBUG"
        }
    }

    var syslogPriority: Int32 {
        switch self {
        case .alert: return LOG_ALERT
        case .bug, .critical: return LOG_CRIT
        case .error: return LOG_ERR
        case .warning: return LOG_WARNING
        case .notice: return LOG_NOTICE
        case .info: return LOG_INFO
        case .debug: return LOG_DEBUG
        }
    }

    /// `L_INFO`, `INFO`, `info`, or a number, as xlog's level argument.
    public init?(name: String) {
        var n = name.uppercased()
        if n.hasPrefix("L_") { n.removeFirst(2) }
        switch n {
        case "ALERT": self = .alert
        case "BUG": self = .bug
        case "CRIT", "CRITICAL": self = .critical
        case "ERR", "ERROR": self = .error
        case "WARN", "WARNING": self = .warning
        case "NOTICE": self = .notice
        case "INFO": self = .info
        case "DBG", "DEBUG": self = .debug
        default:
            guard let i = Int(name), let l = LogLevel(rawValue: i) else { return nil }
            self = l
        }
    }
}

/// The server's log: synchronous lines that carry the process, to standard error (`-E`,
/// `log_stderror=yes`) or to syslog. Written before anything else can interleave: one
/// write(2) per line, so lines of several processes never mix.
public struct ServerLog: Sendable {
    public var threshold: LogLevel
    public var toStandardError: Bool
    /// `log_prefix`: put before every message.
    public var prefix: String
    /// The process's slot in the process table, shown before its pid.
    public var slot: Int32 = 0
    /// The `debug` level as `cfg.set core debug` leaves it (in the arena, read on every
    /// call), once the arena exists; `threshold` before that.
    public var liveLevel: LiveLogLevel?

    public init(threshold: LogLevel = .info, toStandardError: Bool = true, prefix: String = "") {
        self.threshold = threshold
        self.toStandardError = toStandardError
        self.prefix = prefix
    }

    public func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= (liveLevel?.current ?? threshold.rawValue)
    }

    /// Writes `message` at `level` from `module` (`<script>` for the config's own lines).
    public func write(_ level: LogLevel, _ module: String, _ message: String) {
        guard enabled(level) else { return }
        var text = message
        if text.hasSuffix("\n") { text.removeLast() }
        if toStandardError {
            let line = "\(slot < 10 ? " " : "")\(slot)(\(getpid())) \(level.label): \(module): \(prefix)\(text)\n"
            line.utf8CString.withUnsafeBufferPointer { buf in
                _ = Glibc.write(2, buf.baseAddress, buf.count - 1)
            }
        } else {
            let line = "\(level.label): \(module): \(prefix)\(text)"
            line.withCString { vsyslog_wrapper(level.syslogPriority, $0) }
        }
    }

    public func critical(_ module: String, _ message: String) { write(.critical, module, message) }
    public func error(_ module: String, _ message: String) { write(.error, module, message) }
    public func warning(_ module: String, _ message: String) { write(.warning, module, message) }
    public func notice(_ module: String, _ message: String) { write(.notice, module, message) }
    public func info(_ module: String, _ message: String) { write(.info, module, message) }
    public func debug(_ module: String, _ message: String) { write(.debug, module, message) }
}

/// Where the running `debug` level is: a setting of the arena's "cfg" section.
public struct LiveLogLevel: Sendable {
    let settings: ChangeableSettings
    let index: Int32

    @inline(__always)
    var current: Int { settings.value(index) }
}

extension ServerLog {
    /// The syslog facility named by `log_facility` (`LOG_DAEMON`, `LOG_LOCAL0`...`LOG_LOCAL7`,
    /// `LOG_USER`); nil for another name.
    public static func facility(named name: String) -> Int32? {
        let n = name.uppercased().hasPrefix("LOG_") ? String(name.uppercased().dropFirst(4)) : name.uppercased()
        switch n {
        case "DAEMON": return LOG_DAEMON
        case "USER": return LOG_USER
        case "LOCAL0": return LOG_LOCAL0
        case "LOCAL1": return LOG_LOCAL1
        case "LOCAL2": return LOG_LOCAL2
        case "LOCAL3": return LOG_LOCAL3
        case "LOCAL4": return LOG_LOCAL4
        case "LOCAL5": return LOG_LOCAL5
        case "LOCAL6": return LOG_LOCAL6
        case "LOCAL7": return LOG_LOCAL7
        default: return nil
        }
    }

    /// Opens syslog with the server's name and facility (before fork: children inherit it).
    public static func openSyslog(name: String, facility: Int32) {
        // openlog keeps the pointer: a string that lives for the whole process.
        let ident = strdup(name)
        openlog(ident, LOG_PID, facility)
    }
}

/// syslog with a fixed "%s" format, so a message is never read as a format string.
private func vsyslog_wrapper(_ priority: Int32, _ text: UnsafePointer<CChar>) {
    withVaList([text]) { vsyslog(priority, "%s", $0) }
}
