import SIP

/// Writing the Record-Route (rr's `record_route`, `record_route_preset`) and the Route
/// changes `loose_route()` made, as edits of the request being relayed.
extension MessageContext {
    /// The rr edits for a copy of the request leaving from `outbound`.
    func routingEdits(outbound: LocalSocket) -> [ForwardEdit] {
        var out: [ForwardEdit] = edits.rr.cuts.map { .cut($0) }
        if let route = edits.rr.appendedRoute { out.append(.addLast(name: "Route", value: route)) }
        for value in recordRouteValues(outbound: outbound) { out.append(.addTop(name: "Record-Route", value: value)) }
        return out
    }

    /// The Record-Route values, topmost first: one naming the socket the request came in
    /// on, or, when it leaves from another socket (another address, port or transport) and
    /// `enable_double_rr` is on, one for the outbound socket above one for the inbound.
    func recordRouteValues(outbound: LocalSocket) -> [String] {
        guard let mode = edits.rr.mode else { return [] }
        let rr = RRSettings(process.program.settings)
        let lr = rr.fullLR ? ";lr=on" : ";lr"
        let ftag = rr.appendFromTag ? message.from.tag.map { ";ftag=\($0)" } ?? "" : ""
        let ruri = SIPURI.parse(requestURI)
        let scheme = (ruri?.isSecure ?? false) && !rr.ignoreSips ? "sips:" : "sip:"
        let user = rr.addUsername ? ruri?.user.map { $0 + "@" } ?? "" : ""
        let params = edits.rr.params
        switch mode {
        case .preset(let first, let second):
            // Preset addresses are taken as written; Kamailio puts ftag before lr here.
            return [first, second].compactMap { $0 }.map { "<\(scheme)\(user)\($0)\(ftag)\(lr)\(params)>" }
        case .automatic:
            let inbound = socket
            let differ = inbound.transport != outbound.transport || inbound.viaHost != outbound.viaHost
                || inbound.viaPort != outbound.viaPort
            let double = rr.doubleRR == 2 || (rr.doubleRR == 1 && differ)
            func value(_ s: LocalSocket) -> String {
                var text = "<\(scheme)\(user)\(s.viaHost)"
                let defaultPort = s.transport == .tls ? 5061 : 5060
                if s.viaPort != defaultPort { text += ":\(s.viaPort)" }
                if s.transport != .udp || rr.doubleRR == 2 { text += ";transport=\(s.transport.name.lowercased())" }
                if double { text += ";r2=on" }
                return text + lr + ftag + params + ">"
            }
            return double ? [value(outbound), value(inbound)] : [value(inbound)]
        }
    }
}
