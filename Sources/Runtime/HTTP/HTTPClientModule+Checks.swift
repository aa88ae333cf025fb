import Script

/// Load-time work: the connection table from the module parameters, and the checks of the
/// functions' literal arguments against it.
extension HTTPClientModule {
    /// Builds the connections in file order: each `httpcon` takes the module parameters set
    /// above it (as Kamailio does), a `config_file` the final ones. Reports duplicates,
    /// unknown failovers, what libcurl cannot do, and defaults set too late to apply.
    static let checkParams: @Sendable (inout ModuleParamsContext) -> Void = { ctx in
        var defaults = HTTPClientDefaults(ctx.settings)
        var config = HTTPClientConfig(defaults: defaults)
        var firstConnection: SourceLocation?
        var files: [ModuleParamsContext.Entry] = []

        func add(_ connection: HTTPConnection, _ ctx: inout ModuleParamsContext) {
            if let first = config.connections[connection.name] {
                ctx.error(
                    "connection '\(connection.name)' is defined twice (first at \(first.location))",
                    at: connection.location)
                return
            }
            config.connections[connection.name] = connection
        }

        for entry in ctx.entries {
            switch entry.param {
            case "httpcon":
                switch HTTPConnection.parse(httpcon: entry.value.text, defaults: defaults, at: entry.location) {
                case .success(let connection):
                    add(connection, &ctx)
                    if firstConnection == nil { firstConnection = entry.location }
                case .failure(let e):
                    ctx.error(e.message, at: entry.location)
                }
            case "config_file":
                files.append(entry)
            default:
                defaults.apply(entry.param, entry.value)
                if let first = firstConnection, HTTPClientDefaults.perConnection.contains(entry.param) {
                    ctx.warning(
                        "'\(entry.param)' is set after the httpcon at \(first): as in Kamailio, connections defined above it keep the earlier value",
                        at: entry.location)
                }
                if entry.param == "tlsversion", case .int(let n) = entry.value, n == 2 || n == 3 {
                    ctx.warning(sslWarning(n), at: entry.location)
                }
            }
        }
        config.defaults = defaults
        // What is not set per connection is the module's, wherever it is written.
        for name in config.connections.keys {
            config.connections[name]?.settings.takeModuleWide(from: defaults)
        }
        for entry in files {
            for connection in readFile(entry, defaults: defaults, &ctx) { add(connection, &ctx) }
        }
        for connection in config.connections.values.sorted(by: { $0.name < $1.name }) {
            if let failover = connection.failover, config.connections[failover] == nil {
                ctx.error(
                    "connection '\(connection.name)': failover '\(failover)' is not a connection (\(config.names))",
                    at: connection.location)
            }
            if connection.settings.tls.version == 2 || connection.settings.tls.version == 3,
                connection.settings.tls.version != defaults.tls.version
            {
                ctx.warning(
                    "connection '\(connection.name)': " + sslWarning(connection.settings.tls.version),
                    at: connection.location)
            }
        }
        ctx.derived = config
    }

    static func sslWarning(_ version: Int) -> String {
        "tlsversion \(version) (\(tlsVersions[version])): the libcurl Respite links (OpenSSL 3) has no SSLv2 or SSLv3, so HTTPS requests with it fail"
    }

    /// Reads a `config_file`: relative to the directory of the config that names it, unless
    /// it starts with `/` or `.`.
    private static func readFile(
        _ entry: ModuleParamsContext.Entry, defaults: HTTPClientDefaults,
        _ ctx: inout ModuleParamsContext
    ) -> [HTTPConnection] {
        let directory = HTTPClientConfigFile.directory(of: entry.location.file)
        let path = HTTPClientConfigFile.resolve(entry.value.text, in: directory)
        guard let text = ctx.readFile(path) else {
            ctx.error("cannot read the connections file '\(path)'", at: entry.location)
            return []
        }
        ctx.addSource(text, file: path)
        let (connections, findings) = HTTPClientConfigFile.parse(
            text, file: path, directory: directory, defaults: defaults)
        for f in findings {
            if f.isError { ctx.error(f.message, at: f.location) } else { ctx.warning(f.message, at: f.location) }
        }
        return connections
    }

    // MARK: fixups

    /// The connection argument at `index`: a literal must name a connection.
    static func checkConnection(_ index: Int) -> @Sendable (inout FixupContext) -> Void {
        { fc in
            guard let name = fc.staticString(index) else { return }
            let config = HTTPClientConfig.of(fc.settings)
            if config.connections[name] == nil {
                fc.error("no http_client connection named '\(name)' (\(config.names))", argument: index)
            }
        }
    }

    /// http_connect's connection and URL: a literal path on a literal connection must make a
    /// URL curl accepts.
    static let checkConnect: @Sendable (inout FixupContext) -> Void = { fc in
        checkConnection(0)(&fc)
        guard let name = fc.staticString(0), let path = fc.staticString(1),
            let connection = HTTPClientConfig.of(fc.settings).connections[name]
        else { return }
        if let problem = HTTPURL.problem(connection.url(appending: path)) {
            fc.error(problem, argument: 1)
        }
    }

    /// A literal URL must be an http or https URL curl accepts.
    static let checkURL: @Sendable (inout FixupContext) -> Void = { fc in
        if let url = fc.staticString(0), let problem = HTTPURL.problem(url) {
            fc.error(problem, argument: 0)
        }
    }
}
