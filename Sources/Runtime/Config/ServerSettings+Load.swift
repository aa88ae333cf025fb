import Script
import Shared

extension ServerSettings {
    /// Combines the loaded config's core parameters with the command line (which wins).
    /// Returns an error message for what only shows once both are known.
    public static func from(_ settings: ConfigSettings, options: ServerOptions) -> Result<ServerSettings, SettingsError> {
        let tcp = TCPSettings(settings)
        var specs: [ListenSpec] = []
        let listenTexts = options.listen.isEmpty ? (settings.core["listen"] ?? []).map(\.text) : options.listen
        for text in listenTexts {
            switch ListenSpec.parse(text) {
            case .success(let spec): specs.append(spec)
            case .failure(let e): return .failure(SettingsError(message: "-l \(text): \(e.message)"))
            }
        }
        // Without a listen line, Respite stays on loopback (Kamailio would take every
        // interface): a server started by mistake should not be reachable from outside.
        if specs.isEmpty { specs = [ListenSpec(transport: nil, address: SocketAddress(ipv4: 0x7F00_0001, port: 5060))] }
        var listen: [ListenSpec] = []
        for spec in specs {
            if spec.transport == .tcp && tcp.disabled {
                return .failure(SettingsError(message: "listen \(spec): TCP is disabled (disable_tcp=yes)"))
            }
            let transports: [SIPTransport] = spec.transport.map { [$0] } ?? (tcp.disabled ? [.udp] : [.udp, .tcp])
            listen += transports.map { spec.on($0) }
        }
        let children = options.children ?? settings.coreInt("children") ?? 8
        guard (1...64).contains(children) else { return .failure(SettingsError(message: "-n \(children): between 1 and 64")) }
        let debug = options.debugLevel ?? settings.coreInt("debug") ?? 2
        let level = LogLevel(rawValue: min(max(debug, -5), 3)) ?? (debug > 3 ? .debug : .alert)
        let megabytes = options.sharedMemoryMB ?? settings.coreInt("shm_mem_size") ?? 64
        guard (8...65536).contains(megabytes) else { return .failure(SettingsError(message: "-m \(megabytes): between 8 and 65536 MB")) }
        var serverHeader = "Respite (\(ServerSettings.version))"
        if case .string(let s)? = settings.core("server_header") {
            serverHeader = s.hasPrefix("Server:") ? String(s.dropFirst(7)).trimmingCharacters(in: " ") : s
        }
        var prefix = ""
        if case .string(let p)? = settings.core("log_prefix") { prefix = p }
        var server = ServerSettings(
            listen: listen, children: children, tcp: tcp, logLevel: level,
            logToStandardError: options.logToStandardError || settings.coreInt("log_stderror") == 1,
            logPrefix: prefix, sharedMemoryBytes: megabytes << 20, shmName: options.shmName,
            foreground: options.foreground >= 3 ? 0 : options.foreground, pidFile: options.pidFile, serverHeader: serverHeader,
            tagSeed: UInt64.random(in: 1...UInt64.max))
        server.dns = DNSSettings(settings)
        if let problem = server.applyService(settings, options: options) { return .failure(problem) }
        return .success(server)
    }

    public struct SettingsError: Error, Sendable { public var message: String }
}
