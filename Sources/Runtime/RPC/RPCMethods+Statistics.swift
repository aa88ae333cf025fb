import Shared

/// `tm.stats`, `sl.stats` and `stats.*`: the statistics of section "stats", answered with
/// Kamailio 5.6.3's shapes (compared with kamcmd on loopback).
extension RPCMethods {
    static var tm: [RPCMethod] {
        [
            RPCMethod("tm.stats", help: "Prints the transaction statistics.") { call throws(RPCFault) in
                let arena = call.process.arena
                let values = Dictionary(ServerStatistics.group("tm", arena: arena).map { ($0.name, $0.value) },
                                        uniquingKeysWith: { a, _ in a })
                var s = RPCStruct()
                for name in ["current", "waiting", "total", "total_local", "rpl_received", "rpl_generated", "rpl_sent",
                             "6xx", "5xx", "4xx", "3xx", "2xx", "created", "freed"] {
                    s.add(name, values[name] ?? 0)
                }
                // Transactions ended but still referenced (freed when the last reference goes).
                var inspector = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size)
                inspector.parts = .transactions
                let tx = inspector.report().transactions
                s.add("delayed_free", tx.map { $0.live > $0.walked ? $0.live - $0.walked : 0 } ?? 0)
                return [s.value]
            },
        ]
    }

    static var sl: [RPCMethod] {
        [
            RPCMethod("sl.stats", help: "Prints the stateless reply statistics.") { call throws(RPCFault) in
                // Kamailio's sl.stats lists the reply codes but 1xx, without the totals.
                let values = Dictionary(ServerStatistics.group("sl", arena: call.process.arena).map { ($0.name, $0.value) },
                                        uniquingKeysWith: { a, _ in a })
                var s = RPCStruct()
                for c in SLStatistic.allCases where ![.r1xx, .sentReplies, .sentErrReplies, .failures].contains(c) {
                    s.add(String(c.name.dropLast("_replies".count)), values[c.name] ?? 0)
                }
                return [s.value]
            },
        ]
    }

    static var statistics: [RPCMethod] {
        [
            RPCMethod("stats.get_statistics", help: "Prints the statistics: all, group: or names.", returnsArray: true) { call throws(RPCFault) in
                try lines(ServerStatistics.entries(arena: call.process.arena, matching: selectors(call)))
            },
            RPCMethod("stats.fetch", help: "Returns the statistics as a structure: all, group: or names.") { call throws(RPCFault) in
                var s = RPCStruct()
                for e in ServerStatistics.entries(arena: call.process.arena, matching: try selectors(call)) {
                    s.add("\(e.group).\(e.name)", String(e.value))
                }
                return [s.value]
            },
            RPCMethod("stats.reset_statistics", help: "Resets the statistics: all, group: or names.") { call throws(RPCFault) in
                ServerStatistics.reset(arena: call.process.arena, matching: try selectors(call))
                return []
            },
            RPCMethod("stats.clear_statistics", help: "Prints the statistics, then resets them: all, group: or names.", returnsArray: true) { call throws(RPCFault) in
                let names = try selectors(call)
                let out = lines(ServerStatistics.entries(arena: call.process.arena, matching: names))
                ServerStatistics.reset(arena: call.process.arena, matching: names)
                return out
            },
        ]
    }

    /// The parameters: one or more of "all", "group:", "name".
    static func selectors(_ call: RPCCall) throws(RPCFault) -> [String] {
        guard !call.params.isEmpty else { throw .missing("statistic (all, group: or name)") }
        var out: [String] = []
        for i in call.params.indices { out.append(try call.string(i, "statistic")) }
        return out
    }

    /// "group:name = value", one string each, as Kamailio prints them.
    static func lines(_ entries: [ServerStatistics.Entry]) -> [RPCValue] {
        entries.map { .string("\($0.group):\($0.name) = \($0.value)") }
    }
}
