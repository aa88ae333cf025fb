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
///
/// A line has Kamailio's shape, `LEVEL: <core> [file:line]: function(): message` (a
/// module's name bare instead of `<core>`; the config's own lines `LEVEL: <script>:
/// message`), after ` N(pid) ` on standard error; with `log_engine_type="json"` it is one
/// JSON object instead (`LogLine`). Every process holds its own copy: nothing is shared.
public struct ServerLog: Sendable {
    public var threshold: LogLevel
    public var toStandardError: Bool
    /// `log_prefix`: put before every message.
    public var prefix: String
    /// A `log_prefix` with variables: its text for the message this process handles now
    /// (set by the receiver for each message, empty between messages). Shared by every
    /// copy of this log in the process, so lines written through any copy carry it.
    public var messagePrefix: MessagePrefix?
    /// The process's slot in the process table, shown before its pid.
    public var slot: Int32 = 0
    /// The `debug` level as `cfg.set core debug` leaves it (in the arena, read on every
    /// call), once the arena exists; `threshold` before that.
    public var liveLevel: LiveLogLevel?
    /// Text lines (Kamailio's) or JSON objects (`log_engine_type="json"`).
    public var format: LogFormat = .text
    /// While a daemonized master starts: the status pipe to the waiting parent, which
    /// prints the error lines written here on its own standard error. -1 otherwise.
    public var startupEcho: Int32 = -1

    public init(threshold: LogLevel = .info, toStandardError: Bool = true, prefix: String = "",
                format: LogFormat = .text) {
        self.threshold = threshold
        self.toStandardError = toStandardError
        self.prefix = prefix
        self.format = format
    }

    public func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= (liveLevel?.current ?? threshold.rawValue)
    }

    /// Writes `message` at `level` from `module` (`core`, a module's name, or `<script>`
    /// for the config's own lines); `file`, `line` and `function` name the call site.
    public func write(_ level: LogLevel, _ module: String, _ message: String,
                      file: String = #fileID, line: Int = #line, function: String = #function) {
        guard enabled(level) else { return }
        var text = message
        if text.hasSuffix("\n") { text.removeLast() }
        let entry = LogLine(level: level, module: module, file: file, line: line, function: function,
                            message: text, prefix: messagePrefix?.text ?? prefix)
        let body: String
        switch format {
        case .text: body = entry.text
        case .json: body = entry.json(slot: slot, pid: getpid())
        }
        if toStandardError {
            let out = format == .json ? body + "\n" : "\(slot < 10 ? " " : "")\(slot)(\(getpid())) \(body)\n"
            Self.writeAll(2, out)
        } else {
            body.withCString { vsyslog_wrapper(level.syslogPriority, $0) }
        }
        if startupEcho >= 0 && level <= .error {
            Self.writeAll(startupEcho, StartupStatus.errorLine(entry.text))
        }
    }

    public func critical(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.critical, module, message, file: file, line: line, function: function)
    }
    public func error(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.error, module, message, file: file, line: line, function: function)
    }
    public func warning(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.warning, module, message, file: file, line: line, function: function)
    }
    public func notice(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.notice, module, message, file: file, line: line, function: function)
    }
    public func info(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.info, module, message, file: file, line: line, function: function)
    }
    public func debug(_ module: String, _ message: String, file: String = #fileID, line: Int = #line, function: String = #function) {
        write(.debug, module, message, file: file, line: line, function: function)
    }

    /// The same log without the startup echo: what the master hands the processes it forks.
    public var withoutStartupEcho: ServerLog {
        var copy = self
        copy.startupEcho = -1
        return copy
    }

    /// One write(2) for the whole line (a short write, rare on a pipe or terminal, goes on).
    static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
        bytes.removeAll()
    }
}

/// The per-process holder of a `log_prefix` evaluated for the current message. A process
/// runs one message at a time on one thread, so a plain reference is enough.
public final class MessagePrefix: @unchecked Sendable {
    private var resolved = ""
    private var pending: (() -> String)?

    public init() {}

    /// The prefix of the message being handled; made on first use when set lazily.
    public var text: String {
        if let make = pending {
            // Cleared first: a line logged while the prefix is made gets none, not a loop.
            pending = nil
            resolved = make()
        }
        return resolved
    }

    public func set(_ text: String) {
        resolved = text
        pending = nil
    }

    /// `make` runs when a line is first logged for the message, if ever: most messages
    /// log nothing, and the prefix costs nothing then.
    public func setLazily(_ make: @escaping () -> String) {
        pending = make
    }

    /// Makes a lazy prefix now, before what it reads changes (`msg_apply_changes`).
    public func resolve() { _ = text }
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
