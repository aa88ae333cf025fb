import Script

/// One task group of the core async framework (`async_workers`, `async_workers_group`).
struct AsyncGroup: Sendable, Equatable {
    var name: String
    var workers: Int
    var nonblock: Bool
    var usleep: Int
}

/// The async module's and core framework's settings, from the loaded config.
struct AsyncConfig: Sendable {
    /// Task groups; `default` first when there is one.
    var groups: [AsyncGroup] = []
    /// modparam workers: second-ring timer processes (0: async_route/async_sleep are off).
    var ringWorkers = 1
    /// modparam ms_timer: resolution in ms (0: the millisecond functions are off).
    var msTimer = 0
    /// modparam return: what a successful suspending call returns.
    var returnCode = 0
    var mode = 0
    var msQueueMax = 100_000
    /// The group and event route of async_tkv_emit (Respite's defaults: docs/async.md#tkv-events).
    var tkvGroup: String?
    var tkvRoute = "core:tkv"
    /// Whether the config loads the async module.
    var moduleLoaded = false

    static let defaultGroup = "default"

    func group(named name: String) -> AsyncGroup? { groups.first { $0.name == name } }
    var hasDefaultGroup: Bool { group(named: Self.defaultGroup) != nil }

    init() {}

    /// The settings of a config that loaded without errors (the specs were checked then).
    init(_ settings: ConfigSettings) {
        moduleLoaded = settings.modules.contains("async")
        ringWorkers = settings.modparamInt("async", "workers") ?? 1
        msTimer = settings.modparamInt("async", "ms_timer") ?? 0
        returnCode = settings.modparamInt("async", "return") ?? 0
        mode = settings.modparamInt("async", "mode") ?? 0
        msQueueMax = settings.modparamInt("async", "ms_queue_max") ?? 100_000
        let nonblock = (settings.coreInt("async_nonblock") ?? 0) != 0
        let usleep = settings.coreInt("async_usleep") ?? 0
        if let n = settings.coreInt("async_workers"), n > 0 {
            groups.append(AsyncGroup(name: Self.defaultGroup, workers: n, nonblock: nonblock, usleep: usleep))
        }
        for value in settings.core["async_workers_group"] ?? [] {
            guard case .success(let g) = Self.parseGroup(value.text) else { continue }
            if let i = groups.firstIndex(where: { $0.name == g.name }) { groups[i] = g } else { groups.append(g) }
        }
        if let i = groups.firstIndex(where: { $0.name == Self.defaultGroup }), i != 0 {
            groups.insert(groups.remove(at: i), at: 0)
        }
        if case .string(let g)? = settings.core("async_tkv_gname"), !g.isEmpty { tkvGroup = g } else {
            tkvGroup = group(named: "tkv") != nil ? "tkv" : (hasDefaultGroup ? Self.defaultGroup : nil)
        }
        if case .string(let r)? = settings.core("async_tkv_evcb"), !r.isEmpty { tkvRoute = r }
    }

    /// `name=X;workers=N;nonblock=0|1;usleep=U`: keys case-insensitive, a trailing `;`
    /// allowed, unknown keys an error (Kamailio ignores them).
    static func parseGroup(_ spec: String) -> Result<AsyncGroup, ConfigError> {
        var group = AsyncGroup(name: "", workers: 0, nonblock: false, usleep: 0)
        for part in spec.split(separator: ";", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: " \t") }
            guard kv.count == 2, !kv[0].isEmpty else { return .failure(ConfigError("'\(part)' is not key=value")) }
            switch kv[0].lowercased() {
            case "name": group.name = kv[1]
            case "workers":
                guard let n = Int(kv[1]) else { return .failure(ConfigError("workers must be a number, got '\(kv[1])'")) }
                group.workers = n
            case "nonblock":
                guard let n = Int(kv[1]), n == 0 || n == 1 else { return .failure(ConfigError("nonblock must be 0 or 1")) }
                group.nonblock = n == 1
            case "usleep":
                guard let n = Int(kv[1]), n >= 0 else { return .failure(ConfigError("usleep must be a number of microseconds")) }
                group.usleep = n
            default:
                return .failure(ConfigError("unknown key '\(kv[0])' (use name, workers, nonblock, usleep)"))
            }
        }
        guard !group.name.isEmpty else { return .failure(ConfigError("a group needs a name")) }
        guard group.name.utf8.count < 32 else { return .failure(ConfigError("group name '\(group.name)' is longer than 31 bytes")) }
        guard group.workers > 0 else { return .failure(ConfigError("group '\(group.name)' needs workers > 0")) }
        return .success(group)
    }

    struct ConfigError: Error, Sendable {
        var message: String
        init(_ m: String) { message = m }
    }
}
