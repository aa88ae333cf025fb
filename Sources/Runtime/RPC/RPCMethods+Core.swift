import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

extension RPCMethods {
    /// `core.*`: the processes, the clock, the version, the arena.
    static var core: [RPCMethod] {
        [
            RPCMethod("core.psx", help: "Returns the detailed description of running processes.", returnsArray: true) { call throws(RPCFault) in
                processes(call).map { p in
                    var s = RPCStruct()
                    s.add("IDX", p.slot)
                    s.add("PID", p.pid)
                    s.add("DSC", p.description)
                    return s.value
                }
            },
            RPCMethod("core.ps", help: "Returns the description of running processes: each pid, then its description.", returnsArray: true) { call throws(RPCFault) in
                processes(call).flatMap { [RPCValue.int(Int($0.pid)), .string($0.description)] }
            },
            RPCMethod("core.uptime", help: "Returns the server's uptime.") { call throws(RPCFault) in
                let now = time(nil)
                let started = time_t(call.process.sections.processes.entry(0).started_realtime_ns / 1_000_000_000)
                var s = RPCStruct()
                s.add("now", clockText(now))
                s.add("up_since", clockText(started))
                s.add("uptime", Int(now - started))
                return [s.value]
            },
            RPCMethod("core.version", help: "Returns the version string of the server.") { _ throws(RPCFault) in
                [.string(versionLine)]
            },
            RPCMethod("core.info", help: "Returns information about the server: version, compiler, features.") { _ throws(RPCFault) in
                var s = RPCStruct()
                s.add("version", "respite \(ServerSettings.version)")
                s.add("id", "unknown")
                s.add("compiler", "swift \(swiftVersion)")
                s.add("compiled", "")
                s.add("flags", "USE_TCP, USE_IPV6, USE_DNS_CACHE, USE_DNS_FAILOVER, USE_NAPTR, SHM_ARENA, ASYNC_WORKER_GROUPS")
                return [s.value]
            },
            RPCMethod("core.shmmem", help: "Returns the shared memory status: core.shmmem [b|k|m|g] for the unit.") { call throws(RPCFault) in
                let divisor: UInt64
                switch try call.optionalString(0, "unit")?.lowercased() ?? "b" {
                case "b": divisor = 1
                case "k", "kb": divisor = 1 << 10
                case "m", "mb": divisor = 1 << 20
                case "g", "gb": divisor = 1 << 30
                default: throw RPCFault(400, "unknown unit: use b, k, m or g")
                }
                let arena = call.process.arena
                let c = arena.counters
                let total = UInt64(arena.size)
                var s = RPCStruct()
                s.add("total", total / divisor)
                s.add("free", c.free_bytes / divisor)
                s.add("used", c.used_bytes / divisor)
                s.add("real_used", (total - min(total, c.free_bytes)) / divisor)
                s.add("max_used", c.peak_used_bytes / divisor)
                s.add("fragments", c.free_blocks)
                return [s.value]
            },
            RPCMethod("core.echo", help: "Returns back its parameters.") { call throws(RPCFault) in
                call.params
            },
        ]
    }

    struct ProcessRow {
        var slot: Int
        var pid: Int32
        var description: String
    }

    /// The running processes, in process-table order.
    static func processes(_ call: RPCCall) -> [ProcessRow] {
        let table = call.process.sections.processes
        return (0..<table.count).compactMap { slot in
            let e = table.entry(slot)
            guard e.pid > 0, e.state == CS_PROC_RUNNING.rawValue || e.state == CS_PROC_STARTING.rawValue else { return nil }
            return ProcessRow(slot: slot, pid: e.pid, description: withUnsafeBytes(of: e.description) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            })
        }
    }

    static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6"
        #endif
    }
}
