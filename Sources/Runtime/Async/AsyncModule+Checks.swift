import Script

/// Load-time checks (docs/async.md#load-time-checks): a function whose machinery is off, or a static group
/// that does not exist, is a config error naming what is missing.
extension AsyncModule {
    enum Need {
        /// The second ring: modparam workers > 0.
        case ring
        /// The millisecond timer: ms_timer > 0 and a default group.
        case ms
        /// A task group: the argument at this index names it (nil: the default group).
        case task(Int?)
        /// A data task's group (no transaction involved).
        case data(Int?)
        /// The tkv group.
        case tkv
    }

    static func checks(_ need: Need) -> @Sendable (inout FixupContext) -> Void {
        { fc in
            let config = AsyncConfig(fc.settings)
            let name = fc.functionName
            func suspending() {
                if config.mode == 1 {
                    fc.error("\(name) suspends a transaction: it needs modparam(\"async\", \"mode\", 0) and tm")
                } else if !fc.settings.modules.contains("tm") {
                    fc.error("\(name) needs module 'tm' (loadmodule \"tm.so\")")
                }
            }
            func group(_ index: Int?, _ what: String) {
                guard let index else {
                    if !config.hasDefaultGroup {
                        fc.error("\(name) needs the default task group: set async_workers (core parameter) > 0")
                    }
                    return
                }
                if let g = fc.staticString(index), config.group(named: g) == nil {
                    fc.error("no task group named '\(g)' (define it with async_workers_group=\"name=\(g);workers=N\")",
                             argument: index)
                }
            }
            switch need {
            case .ring:
                suspending()
                if config.ringWorkers <= 0 {
                    fc.error("\(name) needs modparam(\"async\", \"workers\") > 0 (second-ring timer processes)")
                }
            case .ms:
                suspending()
                if config.msTimer <= 0 {
                    fc.error("\(name) needs modparam(\"async\", \"ms_timer\") > 0")
                }
                if !config.hasDefaultGroup {
                    fc.error("\(name) needs the default task group: set async_workers (core parameter) > 0")
                }
            case .task(let index):
                suspending()
                group(index, "task")
            case .data(let index):
                group(index, "data")
            case .tkv:
                if config.tkvGroup.flatMap(config.group(named:)) == nil {
                    fc.error("async_tkv_emit needs a task group: async_tkv_gname, a group named 'tkv', or async_workers")
                }
            }
        }
    }
}
