/// A loaded, checked configuration: routes compiled to action lists, every function, variable
/// and static route name resolved. Built once in the master before fork and shared (read only)
/// by every process, so block and action numbers mean the same thing everywhere.
public final class Program: Sendable {
    /// Core and module parameters as the config set them, defaults filled in.
    public let settings: ConfigSettings
    /// Every route; a route index is a position here.
    public let routes: [CompiledRoute]
    /// The action lists; a block id is a position here.
    let blocks: [[Action]]
    /// Per `RouteTable.rawValue`: name -> route index.
    let routesByName: [[String: Int]]
    /// `request_route`, if the config has one.
    public let requestRoute: Int?
    /// The core `reply_route`, if any.
    public let replyRoute: Int?
    /// The names of the `$var(...)` slots, in slot order.
    public let localVariableNames: [String]
    /// Core parameter `max_while_loops`.
    public let maxWhileLoops: Int

    init(settings: ConfigSettings, routes: [CompiledRoute], blocks: [[Action]],
         localVariableNames: [String], maxWhileLoops: Int) {
        self.settings = settings
        self.routes = routes
        self.blocks = blocks
        self.localVariableNames = localVariableNames
        self.maxWhileLoops = maxWhileLoops
        var byName = [[String: Int]](repeating: [:], count: RouteTable.allCases.count)
        var request: Int?
        var reply: Int?
        for (i, r) in routes.enumerated() {
            if let t = r.table, let n = r.name { byName[t.rawValue][n] = i }
            if r.type == .request && r.name == nil { request = i }
            if r.type == .reply && r.name == nil { reply = i }
        }
        self.routesByName = byName
        self.requestRoute = request
        self.replyRoute = reply
    }

    /// The index of the route `name` in `table` (`route[name]`, `failure_route[name]`,
    /// `event_route[core:tkv]`...), for names only known at run time.
    public func routeIndex(_ name: String, in table: RouteTable) -> Int? {
        routesByName[table.rawValue][name]
    }

    /// The number of action lists.
    public var blockCount: Int { blocks.count }

    /// The number of actions in a block (for checking a stored resume point).
    public func actionCount(ofBlock block: Int) -> Int {
        block >= 0 && block < blocks.count ? blocks[block].count : 0
    }

    /// A fresh per-process context for this program.
    public func makeContext(host: AnyObject? = nil) -> ExecContext {
        ExecContext(program: self, host: host)
    }
}
