/// How log lines are written: Kamailio's text lines, or one JSON object a line
/// (`log_engine_type = "json"`, as Kamailio's core names its JSON log engine).
public enum LogFormat: String, Sendable {
    case text
    case json

    /// The format `log_engine_type` names; nil for an engine Respite does not have.
    /// An empty value is the default text engine.
    public init?(engineType: String) {
        switch engineType.lowercased() {
        case "", "text": self = .text
        case "json": self = .json
        default: return nil
        }
    }
}

/// One log message and where it was written, rendered as Kamailio renders its lines.
/// A value made and dropped by the writing process: nothing here is shared.
struct LogLine {
    var level: LogLevel
    var module: String
    /// `#fileID` of the call site: `Runtime/Process/Master.swift`.
    var file: String
    var line: Int
    /// `#function` of the call site: `start()`, `reap(_:)`.
    var function: String
    var message: String
    /// `log_prefix`, written where Kamailio writes it: after the level.
    var prefix = ""

    /// The config's own lines (xlog) carry no call site, as Kamailio's `<script>` lines.
    var isScript: Bool { module == "<script>" }

    /// `start`: the function's name without its argument labels.
    var functionName: String {
        String(function.prefix { $0 != "(" })
    }

    /// `NOTICE: <core> [Runtime/Process/Master.swift:120]: start(): message`.
    var text: String {
        if isScript { return "\(level.label): \(prefix)<script>: \(message)" }
        let shownModule = module == "core" ? "<core>" : module
        return "\(level.label): \(prefix)\(shownModule) [\(file):\(line)]: \(functionName)(): \(message)"
    }

    /// `{"idx":1,"pid":123,"level":"NOTICE","module":"core","file":...,"message":"..."}`:
    /// the keys of Kamailio's JSON engine (idx is the process's slot).
    func json(slot: Int32, pid: Int32) -> String {
        var out = "{\"idx\":\(slot),\"pid\":\(pid),\"level\":\"\(level.label)\",\"module\":"
        JSONText.appendString(module, to: &out)
        if !isScript {
            out += ",\"file\":"
            JSONText.appendString(file, to: &out)
            out += ",\"line\":\(line),\"function\":"
            JSONText.appendString(functionName, to: &out)
        }
        out += ",\"message\":"
        JSONText.appendString(prefix + message, to: &out)
        out += "}"
        return out
    }
}
