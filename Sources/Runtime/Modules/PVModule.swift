import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// pv: the message, process and time variables, `$avp`, `$xavp` (and `$shv`, added by
/// the shared-tables part). Kamailio loads these with the pv module; so does Respite.
enum PVModule {
    static func spec(_ sharedNames: SharedNameCollector) -> ModuleSpec {
        ModuleSpec(name: "pv", params: [
            ModuleParamSpec("shvset", .string) { value in
                do throws(SpecError) { _ = try ShvsetSpec.parse(value.text) } catch { return error.message }
                return nil
            },
        ], variables: messageVariables + storageVariables + processVariables + TransportVariables.variables + AuthVariables.variables
            + [sharedVariable(sharedNames)])
    }

    /// A read-only variable computed from the message context.
    static func fixedPerMessage(_ spec: VariableClassSpec) -> VariableClassSpec {
        var spec = spec
        spec.fixedPerMessage = true
        return spec
    }

    /// A variable read from the message as received or from where it came: it cannot
    /// be assigned and stays the same while the message is handled.
    static func readOnly(_ name: String, _ get: @escaping @Sendable (MessageContext) -> Value) -> VariableClassSpec {
        fixedPerMessage(VariableClassSpec(name) { ctx, _ in get(ctx.message) })
    }

    static func text(_ s: String?) -> Value { s.map { .string($0) } ?? .null }

    static let messageVariables: [VariableClassSpec] = [
        readOnly("rm") { m in m.httpExchange.map { .string($0.request.method) } ?? .string(m.message.isRequest ? m.message.text(m.message.methodRange) : m.message.cseq.method.name) },
        VariableClassSpec("ru", get: { ctx, _ in
            let m = ctx.message
            return m.message.isRequest ? .string(m.requestURI) : .null
        }, set: { ctx, _, v in
            guard !v.isNull, SIPURI.parse(v.stringValue) != nil || v.stringValue.hasPrefix("tel:") else { return false }
            ctx.message.edits.requestURI = v.stringValue
            return true
        }),
        uriPart("rU", \.user, rebuild: { uri, v in URIEdit.replacingUser(uri, v) }),
        uriPart("rd", { $0.host }, rebuild: { uri, v in URIEdit.replacingHost(uri, v) }),
        VariableClassSpec("rp", get: { ctx, _ in
            guard let uri = SIPURI.parse(ctx.message.requestURI) else { return .null }
            return .int(uri.port ?? 5060)
        }, set: { ctx, _, v in
            guard let port = v.intValue, let new = URIEdit.replacingPort(ctx.message.requestURI, port) else { return false }
            ctx.message.edits.requestURI = new
            return true
        }),
        VariableClassSpec("du", get: { ctx, _ in text(ctx.message.edits.destinationURI) }, set: { ctx, _, v in
            if v.isNull {
                ctx.message.edits.destinationURI = nil
                return true
            }
            guard SIPURI.parse(v.stringValue) != nil else { return false }
            ctx.message.edits.destinationURI = v.stringValue
            return true
        }),
        readOnly("fu") { m in .string(m.message.from.uriString) },
        readOnly("fU") { m in text(m.message.from.uri.sipURI?.user ?? m.message.from.uri.telNumber) },
        readOnly("fd") { m in text(m.message.from.uri.sipURI?.host) },
        readOnly("fn") { m in text(m.message.from.displayName) },
        readOnly("ft") { m in text(m.message.from.tag) },
        readOnly("tu") { m in .string(m.message.to.uriString) },
        readOnly("tU") { m in text(m.message.to.uri.sipURI?.user ?? m.message.to.uri.telNumber) },
        readOnly("td") { m in text(m.message.to.uri.sipURI?.host) },
        readOnly("tt") { m in text(m.message.to.tag) },
        readOnly("ci") { m in .string(m.message.callID) },
        // The message type: 1 a request, 2 a reply.
        readOnly("mt") { m in .int(m.message.isRequest ? 1 : 2) },
        readOnly("cs") { m in .int(Int(m.message.cseq.number)) },
        readOnly("rs") { m in m.message.isRequest ? .null : .int(m.message.statusCode) },
        readOnly("rr") { m in m.message.isRequest ? .null : .string(m.message.reasonPhrase) },
        readOnly("si") { m in .string(m.source.host) },
        readOnly("sp") { m in .int(Int(m.source.port)) },
        readOnly("Ri") { m in .string(m.socket.address.host) },
        readOnly("Rp") { m in .int(Int(m.socket.address.port)) },
        readOnly("ua") { m in text(m.message.headerValue("User-Agent")) },
        readOnly("ml") { m in .int(m.message.bytes.count) },
        readOnly("mb") { m in .string(String(decoding: m.message.bytes, as: UTF8.self)) },
        readOnly("rb") { m in
            .string(String(decoding: m.httpExchange?.request.body ?? Array(m.message.bytes[m.message.bodyRange]), as: UTF8.self))
        },
        fixedPerMessage(VariableClassSpec("hdr", nameRule: .required) { ctx, name in
            if let http = ctx.message.httpExchange { return XHTTPVariables.header(http.request, name) }
            let values = ctx.message.message.fields(named: name.name ?? "")
            switch name.index {
            case nil: return values.first.map { .string(ctx.message.message.value(of: $0)) } ?? .null
            case .at(let i)?:
                let k = i < 0 ? values.count + i : i
                return k >= 0 && k < values.count ? .string(ctx.message.message.value(of: values[k])) : .null
            case .all?:
                return values.isEmpty ? .null : .string(values.map { ctx.message.message.value(of: $0) }.joined(separator: ","))
            case .dynamic?:
                return .null // resolved to .at(n) before a getter runs
            }
        }),
        fixedPerMessage(VariableClassSpec("hdrc", nameRule: .required) { ctx, name in
            if let http = ctx.message.httpExchange { return .int(http.request.headers(named: name.name ?? "").count) }
            return .int(ctx.message.message.headerCount(name.name ?? ""))
        }),
    ]

    /// `$rU`, `$rd`: a part of the Request-URI, assignable.
    static func uriPart(_ name: String, _ part: @escaping @Sendable (SIPURI) -> String?,
                        rebuild: @escaping @Sendable (String, String?) -> String?) -> VariableClassSpec {
        VariableClassSpec(name, get: { ctx, _ in
            guard ctx.message.message.isRequest, let uri = SIPURI.parse(ctx.message.requestURI) else { return .null }
            return text(part(uri))
        }, set: { ctx, _, v in
            guard let new = rebuild(ctx.message.requestURI, v.isNull ? nil : v.stringValue) else { return false }
            ctx.message.edits.requestURI = new
            return true
        })
    }

    static let processVariables: [VariableClassSpec] = [
        VariableClassSpec("pp") { _, _ in .int(Int(getpid())) },
        // `$env(NAME)`: the server's environment variable NAME, null when it is not set.
        VariableClassSpec("env", nameRule: .required) { _, name in
            getenv(name.name ?? "").map { .string(String(cString: $0)) } ?? .null
        },
        VariableClassSpec("Ts") { _, _ in .int(time(nil)) },
        VariableClassSpec("TV", nameRule: .required, validateName: { n in
            ["s", "u", "sn", "un", "Sn", "Fn"].contains(n) ? nil : "unknown $TV name '\(n)' (use s, u, sn, un)"
        }) { _, name in
            var tv = timeval()
            gettimeofday(&tv, nil)
            switch name.name {
            case "u", "un": return .int(Int(tv.tv_usec))
            case "Sn": return .string("\(tv.tv_sec).\(tv.tv_usec)")
            default: return .int(tv.tv_sec)
            }
        },
        VariableClassSpec("RANDOM") { _, _ in .int(Int(UInt32.random(in: 0...UInt32(Int32.max)))) },
    ]
}

extension URIReference {
    /// The number of a `tel:` URI, for `$fU`/`$tU`.
    var telNumber: String? {
        if case .tel(let t) = self { return t.number }
        return nil
    }
}
