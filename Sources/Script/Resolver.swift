/// Checks a syntax tree against a registry and compiles it into a `Program`: settings first,
/// then every route gets its index (so calls can name routes defined later), then the route
/// bodies are compiled, and last the route types are propagated through `route(X)` calls and
/// every function is checked against the routes it can run in.
struct Resolver {
    let registry: ScriptRegistry
    var diagnostics: Diagnostics
    var settings = ConfigSettings()

    var routes: [CompiledRoute] = []
    var routeIndexByName: [[String: Int]] = Array(repeating: [:], count: RouteTable.allCases.count)
    var blocks: [[Action]] = []
    var localSlots: [String: Int] = [:]
    var localNames: [String] = []
    /// Each module's accepted `modparam` lines in file order, for its `checkParams`.
    var paramEntries: [String: [ModuleParamsContext.Entry]] = [:]
    /// Where each core parameter's last value is written (for format diagnostics).
    var coreParamLocations: [String: SourceLocation] = [:]
    /// How a module's `checkParams` reads the files its parameters name (the loader's reader).
    var readFile: (String) -> String? = { Preprocessor.readFile($0) }

    /// The route whose body is being compiled.
    var currentRoute = 0
    var loopDepth = 0
    var switchDepth = 0
    /// The statements, expression nodes and variable-name formats around the one being
    /// compiled: the interpreter's recursion follows the same nesting. The parser keeps the
    /// statements and expressions within `ScriptLimits.maxNesting`; names add at most
    /// `ScriptLimits.maxVariableNesting` (`formatNesting`).
    var nesting = 0
    /// The deepest `nesting` in the current route: its weight when the interpreter enters it.
    var deepest = 0
    var formatNesting = 0

    enum EdgeKind { case inherit, runsAs(RouteType) }
    var edges: [(from: Int, to: Int, kind: EdgeKind)] = []
    var callSites: [(route: Int, name: String, allowed: RouteTypeSet, location: SourceLocation)] = []

    /// `diagnostics` holds what the stages before found, so the error limit counts them too.
    init(registry: ScriptRegistry, diagnostics: Diagnostics = Diagnostics()) {
        self.registry = registry
        self.diagnostics = diagnostics
    }

    mutating func resolve(_ config: ConfigSyntax) -> Program? {
        loadSettings(config)
        declareRoutes(config.routes)
        for (i, r) in config.routes.enumerated() where !diagnostics.stopped {
            currentRoute = i
            deepest = 0
            routes[i].block = compileBlock(r.body)
            routes[i].nesting = deepest
        }
        if !diagnostics.stopped { checkRouteTypes() }
        if !diagnostics.stopped { compileFormatParams() }
        if diagnostics.hasErrors { return nil }
        return Program(settings: settings, routes: routes, blocks: blocks,
                       localVariableNames: localNames,
                       maxWhileLoops: settings.coreInt("max_while_loops") ?? 100)
    }

    // MARK: settings

    /// Compiles the module parameters that are formats (the last value of each).
    private mutating func compileFormatParams() {
        for (name, spec) in registry.coreParams where spec.isFormat {
            guard let p = coreParamLocations[name], case .string(let text)? = settings.core[name]?.last,
                  text.contains("$"), let parts = compileFormat(text, at: p) else { continue }
            settings.formats["core.\(name)"] = CompiledFormat(parts: parts)
        }
        for name in settings.modules.sorted() {
            guard let module = registry.modules[name] else { continue }
            for (param, spec) in module.params where spec.isFormat {
                guard let entry = paramEntries[name]?.last(where: { $0.param == param }),
                      case .string(let text) = entry.value,
                      let parts = compileFormat(text, at: entry.location) else { continue }
                settings.formats["\(name).\(param)"] = CompiledFormat(parts: parts)
            }
        }
    }

    private mutating func loadSettings(_ config: ConfigSyntax) {
        for (name, spec) in registry.coreParams {
            if let d = spec.defaultValue { settings.coreDefaults[name] = d }
        }
        for (name, module) in registry.modules {
            for (p, spec) in module.params {
                if let d = spec.defaultValue { settings.moduleDefaults[name, default: [:]][p] = d }
            }
        }
        for p in config.coreParams { coreParam(p) }
        for m in config.modules { loadModule(m) }
        for p in config.modparams { modparam(p) }
        for name in settings.modules.sorted() {
            guard let check = registry.modules[name]?.checkParams else { continue }
            var context = ModuleParamsContext(module: name, entries: paramEntries[name] ?? [], settings: settings,
                                              readFile: readFile)
            check(&context)
            diagnostics.append(contentsOf: context.diagnostics)
            if let derived = context.derived { settings.derived[name] = derived }
        }
    }

    private mutating func coreParam(_ p: CoreParamSyntax) {
        if p.name.contains(".") {
            // `group.name = value`: a custom parameter.
            if settings.custom[p.name] != nil {
                diagnostics.error("custom parameter '\(p.name)' is defined twice", at: p.location)
            }
            settings.custom[p.name] = p.value
            return
        }
        guard let spec = registry.coreParams[p.name] else {
            diagnostics.error("unknown core parameter '\(p.name)'", at: p.location)
            return
        }
        if let why = spec.noEffect {
            diagnostics.warning("core parameter '\(p.name)' has no effect: \(why)", at: p.location)
        }
        guard let value = convert(p.value, to: spec.kind, what: "core parameter '\(p.name)'", at: p.valueLocation) else { return }
        if let message = spec.validate?(value) {
            diagnostics.error("core parameter '\(p.name)': \(message)", at: p.valueLocation)
            return
        }
        if settings.core[p.name] != nil && !spec.repeatable {
            diagnostics.warning("core parameter '\(p.name)' is set again; the last value wins", at: p.location)
        }
        settings.core[p.name, default: []].append(value)
        coreParamLocations[p.name] = p.valueLocation
    }

    static let booleanWords: [String: Int] = [
        "yes": 1, "true": 1, "on": 1, "enable": 1, "no": 0, "false": 0, "off": 0, "disable": 0,
    ]

    /// Converts a written value to what `kind` wants, or reports why it cannot.
    private mutating func convert(_ v: ConfigValue, to kind: ConfigValueKind, what: String,
                                  at location: SourceLocation) -> ConfigValue? {
        switch (kind, v) {
        case (.int, .int), (.string, .string), (.raw, .string), (.intOrString, _):
            return v
        case (.raw, .int(let i)):
            return .string(String(i))
        case (.bool, .int(let i)):
            return .int(i != 0 ? 1 : 0)
        case (.bool, .string(let s)):
            switch s.lowercased() {
            case "yes", "on", "true", "enable": return .int(1)
            case "no", "off", "false", "disable": return .int(0)
            default: break
            }
            diagnostics.error("\(what) needs yes/no, on/off, true/false or a number, found '\(s)'", at: location)
        case (.int, .string(let s)):
            // Kamailio's lexer reads yes/no, on/off... as 1 and 0 wherever a number goes.
            if let n = Self.booleanWords[s.lowercased()] { return .int(n) }
            diagnostics.error("\(what) needs an integer, found '\(s)'", at: location)
        case (.string, .int(let i)):
            diagnostics.error("\(what) needs a quoted string, found \(i)", at: location)
        }
        return nil
    }

    /// `loadmodule "tm.so"`, `"tm"`, `"/usr/lib/kamailio/modules/tm.so"` all name `tm`.
    static func moduleName(_ path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if name.hasSuffix(".so") { name = name.dropLast(3) }
        return String(name)
    }

    private mutating func loadModule(_ m: LoadModuleSyntax) {
        let name = Self.moduleName(m.path)
        guard let spec = registry.modules[name] else {
            diagnostics.error("module '\(name)' is not provided by Respite", at: m.location)
            return
        }
        if case .notYetAvailable(let why) = spec.status {
            diagnostics.error("module '\(name)' is not yet available in Respite (\(why))", at: m.location)
            return
        }
        if settings.modules.contains(name) {
            diagnostics.warning("module '\(name)' is loaded twice", at: m.location)
        }
        settings.modules.insert(name)
    }

    /// `modparam("a|b", ...)`: a module name that is not a plain word is a regular expression
    /// matched (whole, without case) against the loaded modules, and the parameter is set in
    /// each one that matches, as in Kamailio; every matching module must have it.
    private mutating func modparam(_ p: ModParamSyntax) {
        let plain = p.module.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "/" || $0 == "-" }
        if plain {
            modparam(p, module: Self.moduleName(p.module).lowercased())
            return
        }
        var message = ""
        guard let regex = CompiledRegex("^(\(p.module))$", error: &message) else {
            diagnostics.error("bad regular expression '\(p.module)' as a module name: \(message)", at: p.location)
            return
        }
        let matching = settings.modules.sorted().filter { regex.matches($0) }
        if matching.isEmpty {
            diagnostics.error("modparam: no loaded module matches '\(p.module)'", at: p.location)
        }
        for name in matching { modparam(p, module: name) }
    }

    private mutating func modparam(_ p: ModParamSyntax, module name: String) {
        guard let module = registry.modules[name] else {
            diagnostics.error("modparam for unknown module '\(name)'", at: p.location)
            return
        }
        guard settings.modules.contains(name) else {
            diagnostics.error("modparam for module '\(name)', which is not loaded (loadmodule \"\(name).so\")", at: p.location)
            return
        }
        guard let spec = module.params[p.param] else {
            diagnostics.error("module '\(name)' has no parameter '\(p.param)'", at: p.location)
            return
        }
        let what = "parameter '\(p.param)' of module '\(name)'"
        guard let value = convert(p.value, to: spec.kind, what: what, at: p.valueLocation) else { return }
        if let message = spec.validate?(value) {
            diagnostics.error("\(what): \(message)", at: p.valueLocation)
            return
        }
        settings.modparams[name, default: [:]][p.param, default: []].append(value)
        paramEntries[name, default: []].append(.init(param: p.param, value: value, location: p.valueLocation))
    }

    // MARK: routes

    static func table(of type: RouteType) -> RouteTable? {
        switch type {
        case .subroute: return .route
        case .failure: return .failure
        case .onreply: return .onreply
        case .branch: return .branch
        case .event: return .event
        case .request, .reply: return nil
        }
    }

    private mutating func declareRoutes(_ syntax: [RouteSyntax]) {
        var mains: [RouteType: SourceLocation] = [:]
        for r in syntax {
            let table = Self.table(of: r.type)
            let index = routes.count
            routes.append(CompiledRoute(type: r.type, name: r.name, table: table, block: -1, location: r.location))
            if let table, let name = r.name {
                if let first = routeIndexByName[table.rawValue][name] {
                    diagnostics.error("\(table)[\(name)] is defined twice (first at \(routes[first].location))", at: r.location)
                } else {
                    routeIndexByName[table.rawValue][name] = index
                }
                if table == .event, !registry.eventRoutes.isEmpty, !registry.eventRoutes.contains(name) {
                    diagnostics.warning("event_route[\(name)] is never raised by Respite", at: r.location)
                }
            } else if r.name == nil {
                if let first = mains[r.type] {
                    diagnostics.error("\(r.type) is defined twice (first at \(first))", at: r.location)
                }
                mains[r.type] = r.location
            }
        }
    }

    /// Propagates route types through the call graph, then checks each function call against
    /// every type its route can run as. A worklist: a route is looked at again only when its
    /// set of types grew, which happens at most once per route type, so the cost is linear in
    /// routes and calls (a fixed point over all edges would be quadratic on a long chain).
    private mutating func checkRouteTypes() {
        var types = routes.map { $0.type == .subroute ? RouteTypeSet() : RouteTypeSet($0.type) }
        var outgoing = [[Int]](repeating: [], count: routes.count)
        for (i, e) in edges.enumerated() { outgoing[e.from].append(i) }
        var work = Array(routes.indices.reversed())
        var queued = [Bool](repeating: true, count: routes.count)
        while let from = work.popLast() {
            queued[from] = false
            for i in outgoing[from] {
                let e = edges[i]
                let add: RouteTypeSet
                switch e.kind {
                case .inherit: add = types[from]
                case .runsAs(let t): add = RouteTypeSet(t)
                }
                if !types[e.to].isSuperset(of: add) {
                    types[e.to].formUnion(add)
                    if !queued[e.to] {
                        queued[e.to] = true
                        work.append(e.to)
                    }
                }
            }
        }
        for site in callSites {
            // Kamailio checks an event_route as a request route: what one allows, so does the other.
            let allowed = site.allowed.contains(.request) ? site.allowed.union(.event) : site.allowed
            let bad = types[site.route].subtracting(allowed)
            guard let first = bad.types.first else { continue }
            let r = routes[site.route]
            var message = "\(site.name) cannot be used in \(first)"
            if r.type == .subroute, let name = r.name {
                message += " (route[\(name)] is reached from \(first))"
            }
            diagnostics.error(message, at: site.location)
        }
    }

    func routeIndex(_ name: String, in table: RouteTable) -> Int? {
        routeIndexByName[table.rawValue][name]
    }

    /// A new action list; its id is its position.
    mutating func compileBlock(_ statements: [Statement]) -> Int {
        let id = blocks.count
        blocks.append([])
        var actions: [Action] = []
        for (i, s) in statements.enumerated() where !diagnostics.stopped {
            if let a = compileStatement(s, last: i == statements.count - 1) { actions.append(a) }
        }
        blocks[id] = actions
        return id
    }

    /// One level down in `nesting` (a statement, an expression node, a name); `leave()` after.
    mutating func enter() {
        nesting += 1
        deepest = max(deepest, nesting)
        // The parser keeps statements and expressions within the limit, and names add at most
        // their own limit; anything deeper is a parser bug, not a config mistake.
        assert(nesting <= ScriptLimits.maxNesting + 2 * ScriptLimits.maxVariableNesting + 2)
    }

    mutating func leave() { nesting -= 1 }
}
