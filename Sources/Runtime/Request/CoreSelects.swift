import SIP
import Script

/// The core's selects on the message (`@via[1].host`, `@from.uri`, `@to.tag`...), read like
/// variables, with the values Kamailio 5.6.3 gives. `@via` without an index is the top Via; `[n]` counts from 1. A missing part
/// (no such Via, no tag) is null.
enum CoreSelects {
    static func register(_ r: inout ScriptRegistry) {
        let message: [(String, @Sendable (MessageContext) -> Value)] = [
            ("from", { .string($0.message.from.value) }),
            ("from.uri", { .string($0.message.from.uriString) }),
            ("from.tag", { text($0.message.from.tag) }),
            ("from.name", { rawName($0.message.from) }),
            ("to", { .string($0.message.to.value) }),
            ("to.uri", { .string($0.message.to.uriString) }),
            ("to.tag", { text($0.message.to.tag) }),
            ("to.name", { rawName($0.message.to) }),
            ("ruri", { $0.message.isRequest ? .string($0.requestURI) : .null }),
            ("ruri.user", { m in m.message.isRequest ? text(SIPURI.parse(m.requestURI)?.user) : .null }),
            ("ruri.host", { m in m.message.isRequest ? text(SIPURI.parse(m.requestURI)?.host) : .null }),
            ("call_id", { .string($0.message.callID) }),
            ("cseq.num", { .int(Int($0.message.cseq.number)) }),
            ("cseq.method", { .string($0.message.cseq.method.name) }),
        ]
        for (path, get) in message {
            r.register(select: VariableClassSpec(path) { ctx, _ in get(ctx.message) })
        }
        let via: [(String, @Sendable (Via) -> Value)] = [
            ("via", { .string($0.value) }),
            ("via.host", { .string($0.host) }),
            ("via.port", { v in v.port.map { .int($0) } ?? .null }),
            ("via.transport", { .string($0.transport) }),
            ("via.branch", { text($0.branch) }),
            ("via.received", { text($0.received) }),
        ]
        for (path, get) in via {
            r.register(select: VariableClassSpec(path) { ctx, name in
                let vias = ctx.message.message.vias
                var n = 1
                if case .at(let i) = name.index { n = i }
                guard n >= 1, n <= vias.count else { return .null }
                return get(vias[n - 1])
            })
        }
    }

    private static func text(_ s: String?) -> Value { s.map { .string($0) } ?? .null }

    /// The display name as written, quotes included (as Kamailio's `@from.name`).
    private static func rawName(_ a: NameAddr) -> Value {
        guard let r = a.displayNameRange else { return .null }
        let start = r.lowerBound - a.valueRange.lowerBound
        let bytes = Array(a.value.utf8)
        guard start >= 0, start + r.count <= bytes.count else { return text(a.displayName) }
        return .string(String(decoding: bytes[start..<(start + r.count)], as: UTF8.self))
    }
}
