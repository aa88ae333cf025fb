import SIP
import Shared
import Script

/// An internal error that has a SIP reply of its own, as Kamailio 5.6.3 words it (its
/// `ser_error` codes), for `sl_reply_error`, `send_reply_error` and tm's own error reply.
/// Only the errors Respite's functions produce are here; every other failure is
/// Kamailio's "unspecified" one: 500, numbered 1.
enum InternalError: Equatable {
    /// `t_relay` or `forward` found no address for the destination: 478.
    case unresolvableDestination
    /// The destination has an address of a family we listen on, but no listen socket of
    /// its transport: Kamailio's error 7, a 500. (An address of a family we do not listen
    /// on counts as no address, as in Kamailio.)
    case noSocket

    var code: Int {
        switch self {
        case .unresolvableDestination: return 478
        case .noSocket: return 500
        }
    }

    /// The reason phrase of the reply, naming the module that sends it ("SL", "TM").
    func reason(by module: String) -> String {
        switch self {
        case .unresolvableDestination: return "Unresolvable destination (478/\(module))"
        case .noSocket: return Self.serverError(7, by: module)
        }
    }

    /// The reply for no known error (or one recorded before the previous action).
    static func unspecifiedReason(by module: String) -> String { serverError(1, by: module) }

    static func serverError(_ number: Int, by module: String) -> String {
        "I'm terribly sorry, server error occurred (\(number)/\(module))"
    }
}

extension MessageContext {
    /// Why no next hop was found for the request: no usable address, or addresses only
    /// over a transport we have no socket for.
    func noNextHopError(overrideHost: String? = nil, overridePort: Int? = nil, transport: SIPTransport? = nil) -> InternalError {
        guard let query = destinationQuery(overrideHost: overrideHost, overridePort: overridePort, transport: transport)
        else { return .unresolvableDestination }
        let targets = process.dns.targets(host: query.host, port: query.port, transport: query.transport, secure: query.secure)
        let families = Set(process.sockets.map { $0.address.family })
        return targets.contains { families.contains($0.address.family) } ? .noSocket : .unresolvableDestination
    }

    /// Records `error` as the outcome of the action being run.
    func record(_ error: InternalError, _ exec: borrowing ExecContext) {
        internalError = (error, exec.actionsStarted)
    }

    /// The error recorded by the action just before the one being run, as Kamailio's
    /// error replies see it: any action in between (even an assignment) clears it.
    func errorOfPreviousAction(_ exec: borrowing ExecContext) -> InternalError? {
        guard let recorded = internalError, recorded.action &+ 1 == exec.actionsStarted else { return nil }
        return recorded.error
    }
}
