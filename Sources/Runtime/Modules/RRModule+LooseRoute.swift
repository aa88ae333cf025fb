import SIP
import Shared

/// One element of a Route header field of the received request.
struct RouteEntry {
    /// Which Route field (its index among the message's Route fields) and element.
    var field: Int
    var element: Int
    /// The element's bytes (name-addr with its header parameters).
    var range: Range<Int>
    /// The URI inside the angle brackets.
    var uri: String
    var parsed: SIPURI?

    /// A loose router's URI carries `lr` (RFC 3261 16.12.1.1).
    var isLoose: Bool { parsed?.params.contains("lr") ?? false }
}

/// loose_route (RFC 3261 16.4 and 16.12), with Kamailio's answers: 1 routed, -1 no Route or
/// an error, -3 an initial request's only Route was ours (removed).
extension MessageContext {
    /// The Route elements of the received request, in order.
    var routeEntries: [RouteEntry] {
        var out: [RouteEntry] = []
        for (f, field) in message.headers.filter({ $0.kind == .route }).enumerated() {
            for (e, range) in message.listElements(field.valueRange).enumerated() {
                var text = message.text(range)
                if let lt = text.firstIndex(of: "<"), let gt = text[lt...].firstIndex(of: ">") {
                    text = String(text[text.index(after: lt)..<gt])
                }
                out.append(RouteEntry(field: f, element: e, range: range, uri: text, parsed: SIPURI.parse(text)))
            }
        }
        return out
    }

    /// Whether a URI names this server (one of our sockets, by address or advertised name).
    func isOurs(_ uri: SIPURI?) -> Bool {
        guard let uri else { return false }
        var host = uri.host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return process.isLocal(host: host, port: uri.port ?? (uri.isSecure ? 5061 : 5060))
            || process.isLocal(host: uri.host, port: uri.port ?? (uri.isSecure ? 5061 : 5060))
    }

    /// `loose_route()` (`preloadedOnly`: `loose_route_preloaded()`; `strictCheck` false:
    /// `loose_route_mode(1)`, which never treats the Request-URI as a strict router's).
    func looseRoute(preloadedOnly: Bool, strictCheck: Bool) -> Int {
        let routes = routeEntries
        guard !routes.isEmpty else { return -1 }
        let preloaded = message.to.tag == nil
        if preloadedOnly && !preloaded { return -1 }
        let code: Int
        if !preloaded && strictCheck && isOurs(SIPURI.parse(requestURI)) {
            code = afterStrict(routes)
        } else {
            code = afterLoose(routes, preloaded: preloaded)
        }
        if preloadedOnly { return code == -3 || code > 0 ? 1 : -1 }
        return code
    }

    /// The previous hop was a strict router: the Request-URI is our Record-Route. The
    /// route set's next hop becomes the destination (RFC 3261 16.4).
    private func afterStrict(_ routes: [RouteEntry]) -> Int {
        let first = routes[0]
        edits.rr.routeURI = first.uri
        // Our own parameters came back in the Request-URI.
        edits.rr.routeParams = SIPURI.parse(requestURI).map { paramsText(of: $0) } ?? ""
        if !first.isLoose {
            // The next hop is a strict router too: it goes in the Request-URI.
            edits.requestURI = first.uri
            edits.rr.cuts = cuts(removing: [0], of: routes)
            return 1
        }
        // A loose next hop: the last Route is the real Request-URI, the first the next hop.
        let last = routes.count - 1
        edits.requestURI = routes[last].uri
        edits.destinationURI = first.uri
        if last > 0 { edits.rr.cuts = cuts(removing: [last], of: routes) } else { edits.rr.cuts = cuts(removing: [0], of: routes) }
        return 1
    }

    /// The Request-URI is the target; Route entries naming us are removed and the next one
    /// chooses the destination.
    private func afterLoose(_ routes: [RouteEntry], preloaded: Bool) -> Int {
        var removed: [Int] = []
        var next = 0
        let first = routes[0]
        edits.rr.routeURI = first.uri
        if isOurs(first.parsed) {
            edits.rr.routeParams = first.parsed.map { paramsText(of: $0) } ?? ""
            removed.append(0)
            next = 1
            // Double record-routing: the second entry is ours too.
            if first.parsed?.params.value("r2") == "on", routes.count > 1, isOurs(routes[1].parsed) {
                removed.append(1)
                next = 2
            }
            if next >= routes.count {
                edits.rr.cuts = cuts(removing: removed, of: routes)
                return preloaded ? -3 : 1
            }
        }
        let hop = routes[next]
        if hop.isLoose {
            edits.destinationURI = hop.uri
        } else {
            // A strict next hop takes the Request-URI; the old one goes last in the route set.
            edits.rr.appendedRoute = "<\(requestURI)>"
            edits.requestURI = hop.uri
            removed.append(next)
        }
        edits.rr.cuts = cuts(removing: removed, of: routes)
        return 1
    }

    /// The URI's parameters as written, with their leading ';'.
    private func paramsText(of uri: SIPURI) -> String {
        let text = uri.string
        guard let semi = text.firstIndex(of: ";") else { return "" }
        let end = text.firstIndex(of: "?") ?? text.endIndex
        return semi < end ? String(text[semi..<end]) : ""
    }

    /// Byte ranges that remove the `removed` elements: a whole line when none of its
    /// field's elements stay, else each run of removed elements with its comma.
    func cuts(removing removed: [Int], of routes: [RouteEntry]) -> [Range<Int>] {
        let fields = message.headers.filter { $0.kind == .route }
        var out: [Range<Int>] = []
        for (f, field) in fields.enumerated() {
            let elements = routes.enumerated().filter { $0.element.field == f }
            let gone = elements.map { removed.contains($0.offset) }
            guard gone.contains(true) else { continue }
            if !gone.contains(false) {
                out.append(field.lineRange)
                continue
            }
            var i = 0
            while i < elements.count {
                guard gone[i] else { i += 1; continue }
                var j = i
                while j + 1 < elements.count && gone[j + 1] { j += 1 }
                if j + 1 < elements.count {
                    out.append(elements[i].element.range.lowerBound..<elements[j + 1].element.range.lowerBound)
                } else {
                    out.append(elements[i - 1].element.range.upperBound..<elements[j].element.range.upperBound)
                }
                i = j + 1
            }
        }
        return out
    }

    /// `is_direction`: the request goes the way the dialog's first one went when its From
    /// tag is the `ftag` our Route carried (no `ftag`: downstream).
    var isDownstream: Bool {
        guard let params = edits.rr.routeParams,
              let ftag = SIPURI.parse("sip:x" + params)?.params.value("ftag"), !ftag.isEmpty else { return true }
        return message.from.tag == ftag
    }
}
