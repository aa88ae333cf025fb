import Script
import Shared

/// xhttp_prom: Prometheus metrics on the SIP TCP port, through xhttp's event route:
/// `prom_check_uri()` recognises `/metrics`, `prom_dispatch()` answers it. The page holds
/// the statistics `xhttp_prom_stats` selects, named `<xhttp_prom_beginning><group>_<name>`
/// as Kamailio names them (so dashboards made for Kamailio read them), and always
/// Respite's own gauges (`respite_arena_*`, `respite_async_*`, ...), the same page
/// `respite-shm --prometheus` prints (docs/statistics.md).
enum XHTTPPromModule {
    static let path = "/metrics"

    static var spec: ModuleSpec {
        ModuleSpec(name: "xhttp_prom", params: [
            ModuleParamSpec("xhttp_prom_stats", .string, default: .string("")),
            ModuleParamSpec("xhttp_prom_beginning", .string, default: .string("kamailio_")),
            ModuleParamSpec("xhttp_prom_buf_size", .int),
            ModuleParamSpec("xhttp_prom_timeout", .int),
            ModuleParamSpec("prom_counter", .string) { _ in userMetrics },
            ModuleParamSpec("prom_gauge", .string) { _ in userMetrics },
            ModuleParamSpec("prom_histogram", .string) { _ in userMetrics },
        ], functions: [
            FunctionSpec("prom_check_uri", allowedRoutes: [.event]) { ctx, _ in
                guard let exchange = ctx.message.httpExchange else { return -1 }
                let p = exchange.request.path
                return p == path || p.hasPrefix(path + "/") ? 1 : -1
            },
            FunctionSpec("prom_dispatch", allowedRoutes: [.event]) { ctx, _ in
                guard let exchange = XHTTPModule.exchange(ctx.message, "prom_dispatch") else { return -1 }
                let settings = ctx.message.process.program.settings.modparams["xhttp_prom"] ?? [:]
                let page = PrometheusExposition.render(arena: ctx.message.process.arena, options: options(settings))
                let sent = exchange.reply(status: 200, reason: "OK", contentType: "text/plain; version=0.0.4", body: Array(page.utf8))
                return sent ? 1 : -1
            },
        ] + ["prom_counter_reset", "prom_gauge_reset", "prom_counter_inc", "prom_gauge_set", "prom_histogram_observe"].map {
            FunctionSpec($0, args: [.string], minArgs: 1, status: .notYetAvailable("user-defined Prometheus metrics")) { _, _ in -1 }
        })
    }

    static let userMetrics = "user-defined Prometheus metrics (prom_counter, prom_gauge, prom_histogram) are not available in Respite yet"

    /// The exposition options from the module's parameters: `xhttp_prom_stats` is "" (no
    /// statistics, Kamailio's default), `all`, `group:` or a statistic's name, and may be
    /// given several times.
    static func options(_ params: [String: [ConfigValue]]) -> PrometheusExposition.Options {
        let prefix = params["xhttp_prom_beginning"]?.last?.text ?? "kamailio_"
        let selectors = (params["xhttp_prom_stats"] ?? []).map(\.text).filter { !$0.isEmpty }
        return PrometheusExposition.Options(statisticsPrefix: prefix) { group, name in
            selectors.contains { $0 == "all" || $0 == group + ":" || $0 == name || $0 == group + ":" + name }
        }
    }
}
