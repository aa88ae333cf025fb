import Script
import Shared
import Synchronization

/// The names a config uses in `$shv(name)`: collected while the config loads (each static
/// name passes through the variable's load-time check), so the master can create one slot
/// per name before it forks.
public final class SharedNameCollector: Sendable {
    private let names = Mutex<[String]>([])

    public init() {}

    func record(_ name: String) {
        names.withLock { if !$0.contains(name) { $0.append(name) } }
    }

    public var collected: [String] { names.withLock { $0 } }
}

extension SharedValue {
    init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .int(let i): self = .int(i)
        case .string(let s): self = .string(s)
        }
    }

    var scriptValue: Value {
        switch self {
        case .null: return .null
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        }
    }
}

extension PVModule {
    /// `$shv(name)`: a value shared by every process (pv's shared variables).
    static func sharedVariable(_ names: SharedNameCollector) -> VariableClassSpec {
        VariableClassSpec("shv", nameRule: .required, validateName: { name in
            guard !name.isEmpty, name.utf8.count < 32 else { return "$shv name must be 1 to 31 bytes" }
            names.record(name)
            return nil
        }, get: { ctx, name in
            let p = ctx.message.process
            guard let vars = p.tables?.variables, let i = vars.index(of: name.name ?? "") else { return .null }
            return vars.get(i).scriptValue
        }, set: { ctx, name, value in
            let p = ctx.message.process
            guard let vars = p.tables?.variables, let i = vars.index(of: name.name ?? "") else {
                p.log.error("pv", "$shv(\(name.name ?? "")) has no slot: only names written in the config exist")
                return false
            }
            return vars.set(i, SharedValue(value))
        })
    }
}
