/// The kinds of route block. A function declares the set it may be used in; the resolver checks
/// every call against the kinds its route can be reached from.
public enum RouteType: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// `request_route` (also `route` and `route[0]`) and the `route[X]` it calls.
    case request
    /// `failure_route[X]`; also the rules a resumed (async) route runs under.
    case failure
    /// tm's `onreply_route[X]`.
    case onreply
    /// The core `reply_route` (and a nameless `onreply_route`).
    case reply
    /// `branch_route[X]`.
    case branch
    /// `event_route[a:b]`.
    case event
    /// `route[X]`: a sub-route, which takes the types of the routes calling it.
    case subroute

    public var description: String {
        switch self {
        case .request: return "request_route"
        case .failure: return "failure_route"
        case .onreply: return "onreply_route"
        case .reply: return "reply_route"
        case .branch: return "branch_route"
        case .event: return "event_route"
        case .subroute: return "route"
        }
    }
}

/// A set of route types, as a bit mask.
public struct RouteTypeSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ type: RouteType) { rawValue = 1 << UInt8(type.rawValue) }

    public static let request = RouteTypeSet(.request)
    public static let failure = RouteTypeSet(.failure)
    public static let onreply = RouteTypeSet(.onreply)
    public static let reply = RouteTypeSet(.reply)
    public static let branch = RouteTypeSet(.branch)
    public static let event = RouteTypeSet(.event)
    /// Every route type (Kamailio's `ANY_ROUTE`).
    public static let any: RouteTypeSet = [.request, .failure, .onreply, .reply, .branch, .event]

    public var types: [RouteType] {
        RouteType.allCases.filter { contains(RouteTypeSet($0)) }
    }
}

/// Which table of named routes a name refers to.
public enum RouteTable: Int, Sendable, CaseIterable, CustomStringConvertible {
    case route, failure, onreply, branch, event

    public var description: String {
        switch self {
        case .route: return "route"
        case .failure: return "failure_route"
        case .onreply: return "onreply_route"
        case .branch: return "branch_route"
        case .event: return "event_route"
        }
    }

    /// The type a route of this table runs as when it is entered directly.
    var entryType: RouteType? {
        switch self {
        case .route: return nil
        case .failure: return .failure
        case .onreply: return .onreply
        case .branch: return .branch
        case .event: return .event
        }
    }
}
