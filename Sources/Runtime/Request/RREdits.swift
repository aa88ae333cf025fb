/// What the rr module changed about a request: the Record-Route it asked for and the
/// Route entries `loose_route()` consumed. Part of `ScriptEdits`, so a transaction keeps it
/// in its `scriptState` buffer with the other edits and a failure route's new branch
/// carries the same Record-Route and Route changes (as Kamailio's lumps stay on the
/// request tm cloned). Plain process-local values; only the encoding reaches the arena.
struct RREdits: Equatable {
    /// How the Record-Route is written when the request is relayed.
    enum Mode: Equatable {
        /// `record_route()`: built from our sockets when the request leaves.
        case automatic
        /// `record_route_preset(first[, second])`: the given addresses (without scheme).
        case preset(String, String?)
    }

    /// nil: no Record-Route.
    var mode: Mode?
    /// URI parameters for the Record-Route, each starting with ';' (`record_route(";a=b")`
    /// and `add_rr_param`), in call order.
    var params = ""
    /// Byte ranges of the received request that `loose_route()` removed (our Route
    /// entries, and a strict next hop's entry), with the comma or line that goes with them.
    var cuts: [Range<Int>] = []
    /// A Route value appended after the last header (the old Request-URI when the next hop
    /// is a strict router).
    var appendedRoute: String?
    /// The URI of the Route entry `loose_route()` took as ours (`$route_uri`) and the
    /// parameters that `check_route_param` and `is_direction` look at.
    var routeURI: String?
    var routeParams: String?

    // MARK: encoding (appended to ScriptEdits' own)

    func encode(_ u32: (Int) -> Void, _ string: (String?) -> Void) {
        switch mode {
        case nil: u32(0); string(nil); string(nil)
        case .automatic?: u32(1); string(nil); string(nil)
        case .preset(let a, let b)?: u32(2); string(a); string(b)
        }
        string(params)
        u32(cuts.count)
        for r in cuts { u32(r.lowerBound); u32(r.upperBound) }
        string(appendedRoute)
        string(routeURI)
        string(routeParams)
    }

    init() {}

    init?(reading r: inout ScriptEdits.Reader) {
        guard let kind = r.u32(), let a = r.optionalString(), let b = r.optionalString() else { return nil }
        switch kind {
        case 0: mode = nil
        case 1: mode = .automatic
        case 2:
            guard let first = a.value else { return nil }
            mode = .preset(first, b.value)
        default: return nil
        }
        guard let p = r.string(), let n = r.count() else { return nil }
        params = p
        for _ in 0..<n {
            guard let lo = r.u32(), let hi = r.u32(), lo <= hi else { return nil }
            cuts.append(Int(lo)..<Int(hi))
        }
        guard let appended = r.optionalString(), let uri = r.optionalString(), let rp = r.optionalString() else { return nil }
        appendedRoute = appended.value
        routeURI = uri.value
        routeParams = rp.value
    }
}
