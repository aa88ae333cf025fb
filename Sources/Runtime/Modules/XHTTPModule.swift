import Script
import Shared

/// xhttp: HTTP requests that arrive on a SIP TCP listener run `event_route[xhttp:request]`,
/// which answers with `xhttp_reply(code, reason, ctype, body)`. Loading the module is what
/// makes the tcp main frame HTTP (TCPMain+HTTP.swift); a tcp receiver parses the request
/// and runs the route (XHTTPDispatch.swift). `$hu` is the request's URL; `$rm`, `$rb`,
/// `$hdr(name)` read the HTTP request in that route.
enum XHTTPModule {
    static let routeName = "xhttp:request"

    static let spec = ModuleSpec(name: "xhttp", params: [
        ModuleParamSpec("url_skip", .string, validate: regexError),
        ModuleParamSpec("url_match", .string, validate: regexError),
        ModuleParamSpec("event_callback", .string) { value in
            value.text.isEmpty ? nil
                : "xhttp's event_callback names a KEMI function; Respite has no KEMI: write event_route[xhttp:request] instead"
        },
    ], functions: [
        FunctionSpec("xhttp_reply", args: [.int, .string, .string, .string], allowedRoutes: [.event], fixup: { fc in
            if let code = fc.staticInt(0), !(100...599).contains(code) {
                fc.error("HTTP reply code \(code) is not between 100 and 599", argument: 0)
            }
        }) { ctx, args in
            guard let exchange = exchange(ctx.message, "xhttp_reply") else { return -1 }
            guard let code = args.int(0, &ctx) else {
                ctx.message.process.log.error("xhttp", "xhttp_reply: the code is not a number")
                return -1
            }
            let reason = args.string(1, &ctx), type = args.string(2, &ctx), body = args.string(3, &ctx)
            return exchange.reply(status: code, reason: reason, contentType: type, body: Array(body.utf8)) ? 1 : -1
        },
    ], variables: [
        VariableClassSpec("hu") { ctx, _ in ctx.message.httpExchange.map { .string($0.request.url) } ?? .null },
    ], checkParams: { pc in
        var settings = XHTTPSettings()
        for entry in pc.entries where !entry.value.text.isEmpty {
            if entry.param == "url_skip" { settings.skip = CompiledRegex(entry.value.text) }
            if entry.param == "url_match" { settings.match = CompiledRegex(entry.value.text) }
        }
        pc.derived = settings
    })

    static func regexError(_ value: ConfigValue) -> String? {
        value.text.isEmpty || CompiledRegex(value.text) != nil ? nil : "'\(value.text)' is not a POSIX extended regular expression"
    }

    /// The HTTP exchange of the message being handled; nil, logged, outside
    /// `event_route[xhttp:request]` (the function is declared for event routes, and the
    /// other event routes have no HTTP request). Every function that answers HTTP starts
    /// with this check.
    static func exchange(_ m: MessageContext, _ function: String) -> XHTTPExchange? {
        guard let exchange = m.httpExchange else {
            m.process.log.error("xhttp", "\(function) is only for event_route[\(routeName)]: this message is not an HTTP request")
            return nil
        }
        return exchange
    }
}

/// url_skip and url_match, compiled at load time (case-insensitive, as regexes in the
/// script are). Kept in `ConfigSettings.derived["xhttp"]`, read by every tcp receiver.
struct XHTTPSettings: Sendable {
    /// A URL it matches does not run the route.
    var skip: CompiledRegex?
    /// When set, only a URL it matches runs the route (url_skip is checked first).
    var match: CompiledRegex?

    /// Whether `event_route[xhttp:request]` runs for `url`.
    func admits(_ url: String) -> Bool {
        if let skip, skip.matches(url) { return false }
        if let match, !match.matches(url) { return false }
        return true
    }
}

/// How pv's message variables read an HTTP request in `event_route[xhttp:request]`.
enum XHTTPVariables {
    /// `$hdr(name)`, `$hdr(name)[i]`, `$hdr(name)[*]` over the HTTP header fields.
    static func header(_ request: XHTTPRequest, _ name: VariableName) -> Value {
        let values = request.headers(named: name.name ?? "")
        switch name.index {
        case nil: return values.first.map { .string($0) } ?? .null
        case .at(let i)?:
            let k = i < 0 ? values.count + i : i
            return k >= 0 && k < values.count ? .string(values[k]) : .null
        case .all?:
            return values.isEmpty ? .null : .string(values.joined(separator: ","))
        case .dynamic?:
            return .null // resolved to .at(n) before a getter runs
        }
    }
}
