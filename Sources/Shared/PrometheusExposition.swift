/// An arena report in the Prometheus text exposition format (version 0.0.4): what
/// `respite-shm --prometheus` prints from outside the server, and what a `/metrics`
/// handler inside it serves from its own arena (`render(report:)` on a report of
/// `ArenaInspector(base:size:)` over the live mapping).
///
/// Names: the named statistics as `respite_<group>_<name>` (Kamailio's xhttp_prom writes
/// `kamailio_<group>_<name>`), then the arena, task groups, timers, TCP and processes as
/// `respite_<what>` with labels. Every metric has one `# HELP` and one `# TYPE` line;
/// characters a metric name may not hold become `_`, label values are escaped.
public enum PrometheusExposition {
    /// The metric name prefix.
    public static let prefix = "respite"

    /// What to write: `respite-shm --prometheus` writes everything with `respite_`; the
    /// server's xhttp_prom names the statistics as its `xhttp_prom_beginning` says
    /// (`kamailio_` by default, so that dashboards made for Kamailio read them) and shows
    /// those its `xhttp_prom_stats` selects.
    public struct Options: Sendable {
        /// Put before `<group>_<name>` of a statistic.
        public var statisticsPrefix: String
        /// Which statistics to show (group, name).
        public var includesStatistic: @Sendable (String, String) -> Bool

        public init(statisticsPrefix: String = prefix + "_", includesStatistic: @escaping @Sendable (String, String) -> Bool = { _, _ in true }) {
            self.statisticsPrefix = statisticsPrefix
            self.includesStatistic = includesStatistic
        }
    }

    /// The exposition of a server's own live arena, for a handler inside the server: the
    /// same lock-free read `respite-shm` makes (no lock taken, structures that change
    /// under the reader are read again). It walks the allocator and the transaction
    /// table: meant for a scrape every few seconds, not for the message path.
    public static func render(arena: ArenaRef, options: Options = Options()) -> String {
        render(report: ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size).report(), options: options)
    }

    /// The whole exposition, ending with a newline.
    public static func render(report r: ArenaReport, options: Options = Options()) -> String {
        var out = Writer()
        if let stats = r.statistics {
            for s in stats.entries where options.includesStatistic(s.group, s.name) {
                guard let value = s.value else { continue }
                let name = metricName("\(options.statisticsPrefix)\(s.group)_\(s.name)")
                out.family(name, s.kind == "gauge" ? "gauge" : "counter", "\(s.group):\(s.name)")
                out.sample(name, [], Double(value))
            }
        }
        out.single("arena_size_bytes", "gauge", "Size of the shared arena", Double(r.header.size))
        if let a = r.allocator {
            out.single("arena_used_bytes", "gauge", "Arena bytes allocated (freed small blocks in bins and caches included)", Double(a.usedBytes))
            out.single("arena_free_bytes", "gauge", "Arena bytes free", Double(a.freeBytes))
            out.single("arena_peak_used_bytes", "gauge", "Most arena bytes allocated at once", Double(a.peakUsedBytes))
            out.single("arena_fragments", "gauge", "Free blocks in the arena heap", Double(a.fragments))
            out.single("arena_largest_free_block_bytes", "gauge", "Largest free block of the arena heap", Double(a.largestFreeBlock))
            out.single("arena_failed_allocations_total", "counter", "Arena allocations refused for lack of memory", Double(a.failedAllocations))
        }
        out.labelled("arena_section_bytes", "gauge", "Bytes of each arena section",
                     r.sections.map { ([("section", $0.name), ("kind", $0.kind)], Double($0.size)) })
        if let queues = r.queues {
            let group = { (q: ArenaReport.Queue) in [("group", q.name)] }
            out.labelled("async_workers", "gauge", "Worker processes of each task group", queues.map { (group($0), Double($0.workers)) })
            out.labelled("async_depth", "gauge", "Tasks waiting in each task group's queue", queues.map { (group($0), Double(max(0, $0.depth))) })
            out.labelled("async_pushed_total", "counter", "Tasks pushed to each task group", queues.map { (group($0), Double($0.pushed)) })
            out.labelled("async_taken_total", "counter", "Tasks taken by each task group's workers", queues.map { (group($0), Double($0.taken)) })
            out.labelled("async_refused_total", "counter", "Tasks refused by each task group (queue full)", queues.map { (group($0), Double($0.refused)) })
            out.labelled("async_oldest_task_age_seconds", "gauge", "How long the oldest queued task has waited (0: none waits)",
                         queues.map { (group($0), ($0.oldestWaitingMs ?? 0) / 1000) })
        }
        if let tx = r.transactions {
            out.single("async_suspended_transactions", "gauge", "Transactions suspended now", Double(tx.byState.suspended))
        }
        if let a = r.async {
            out.single("async_suspended_total", "counter", "Transactions suspended by the async module", Double(a.suspended))
            out.single("async_resumed_total", "counter", "Suspended transactions resumed", Double(a.resumed))
        }
        if let wheels = r.wheels {
            out.labelled("timer_wheel_armed", "gauge", "Timers armed in each timing wheel", wheels.map { ([("wheel", $0.name)], Double($0.armed)) })
            out.labelled("timer_wheel_fired_total", "counter", "Timers fired by each timing wheel", wheels.map { ([("wheel", $0.name)], Double($0.firedTotal)) })
        }
        if let t = r.tcpConnections {
            out.single("tcp_connections", "gauge", "TCP connections open or opening", Double(t.used))
            out.single("tcp_connections_max", "gauge", "TCP connection slots (tcp_max_connections)", Double(t.capacity))
            out.single("tcp_accepted_total", "counter", "TCP connections accepted from peers", Double(t.accepted))
            out.single("tcp_connected_total", "counter", "Outgoing TCP connections established", Double(t.connected))
            out.single("tcp_refused_total", "counter", "TCP connections refused: every slot in use", Double(t.refused))
            out.single("tcp_connect_failed_total", "counter", "Outgoing TCP connections that failed", Double(t.connectFailed))
        }
        if let procs = r.processes {
            out.single("processes", "gauge", "Server processes running", Double(procs.filter(\.alive).count))
            out.single("process_restarts_total", "counter", "Server processes restarted after they died", Double(procs.reduce(0) { $0 + Int($1.restarts) }))
        }
        out.single("arena_problems", "gauge", "Parts of the arena the reader could not read consistently", Double(r.problems.count))
        return out.text
    }

    /// `name` with every character outside [a-zA-Z0-9_:] replaced by `_` (and a leading
    /// digit prefixed by `_`).
    public static func metricName(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for (i, c) in name.unicodeScalars.enumerated() {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (i > 0 && c >= "0" && c <= "9")
            if i == 0 && c >= "0" && c <= "9" { scalars.append("_") }
            scalars.append(ok || (c >= "0" && c <= "9") ? c : "_")
        }
        return String(scalars)
    }

    /// A label value with `\`, `"` and newlines escaped.
    public static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// A sample value: integers without a fraction, others as Swift prints them.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    struct Writer {
        var text = ""

        mutating func family(_ name: String, _ type: String, _ help: String) {
            // Help texts are ours, one line without backslashes.
            text += "# HELP \(name) \(help)\n"
            text += "# TYPE \(name) \(type)\n"
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            let l = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(PrometheusExposition.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            text += "\(name)\(l) \(PrometheusExposition.format(value))\n"
        }

        mutating func single(_ what: String, _ type: String, _ help: String, _ value: Double) {
            let name = PrometheusExposition.metricName("\(PrometheusExposition.prefix)_\(what)")
            family(name, type, help)
            sample(name, [], value)
        }

        mutating func labelled(_ what: String, _ type: String, _ help: String, _ samples: [([(String, String)], Double)]) {
            guard !samples.isEmpty else { return }
            let name = PrometheusExposition.metricName("\(PrometheusExposition.prefix)_\(what)")
            family(name, type, help)
            for (labels, value) in samples { sample(name, labels, value) }
        }
    }
}
