import Shared

/// The command line, as Kamailio's: what `respite` was asked to do.
public struct ServerOptions: Sendable {
    /// `-f`: the config file.
    public var configPath = "etc/respite.cfg"
    /// `-c`: check the config (every load-time check) and exit.
    public var checkOnly = false
    /// `-m`: shared memory in megabytes (else `shm_mem_size`, else 64).
    public var sharedMemoryMB: Int?
    /// `-D` count: 0 daemonizes; 1 or more stay in the foreground.
    public var foreground = 0
    /// `-E`: log to standard error.
    public var logToStandardError = false
    /// `-l`: listen addresses replacing the config's.
    public var listen: [String] = []
    /// `-n`: receivers per listen socket.
    public var children: Int?
    /// `-A NAME[=value]`: preprocessor defines.
    public var defines: [String: String] = [:]
    /// `-P`: pid file.
    public var pidFile: String?
    /// `--shm-name`: the arena's shared-memory name (default /respite-<pid>).
    public var shmName: String?
    /// `-M`: private memory in megabytes. Recorded only: Respite has no per-process pool.
    public var privateMemoryMB: Int?
    /// `-u`: the user (name or number) to run as once the sockets are bound.
    public var user: String?
    /// `-g`: the group (name or number) to run as.
    public var group: String?
    /// `-Y`: the run directory (else `run_dir`, else /run/respite).
    public var runDirectory: String?
    /// `-d` (repeated: `-dd`, `-ddd`) or `--debug=N`: the log level, over `debug`.
    public var debugLevel: Int?
    /// `--log-engine=json`: the log format, over `log_engine_type`.
    public var logEngine: String?

    public init() {}
}

/// The server's settings: the config's core parameters with the command line on top.
public struct ServerSettings: Sendable {
    /// The listen sockets, one per transport (a `listen=` without one is on UDP and TCP),
    /// in the order the config names them: a socket's index is its place here.
    public var listen: [ListenSpec]
    public var children: Int
    /// The TCP transport's parameters.
    public var tcp: TCPSettings
    public var logLevel: LogLevel
    public var logToStandardError: Bool
    public var logPrefix: String
    public var sharedMemoryBytes: Int
    public var shmName: String?
    public var foreground: Int
    public var pidFile: String?
    /// The `Server:` header of locally generated replies (`server_header`).
    public var serverHeader: String
    /// Mixed into generated To tags.
    public var tagSeed: UInt64
    /// DNS resolution and the DNS cache (`dns_*`, `use_dns_*` core parameters).
    public var dns = DNSSettings()
    /// The directory for runtime files such as the ctl module's sockets (`-Y`, else
    /// `run_dir`/`rundir`, else /run/respite; the master creates it, falling back to
    /// /tmp/respite-<uid> when it cannot).
    public var runDirectory: String = RunDirectory.standard
    /// `-u`/`-g` (or `user`/`group`), resolved: whom the server runs as after binding.
    public var runAs: RunAs?
    /// `-M` / `pkg_mem_size`: recorded, not used.
    public var privateMemoryMB: Int?
    /// `log_engine_type` / `--log-engine`: text or JSON lines.
    public var logFormat: LogFormat = .text

    /// The version `respite -V` prints and replies carry.
    public static let version = "0.1.0"
}

extension ServerOptions {
    /// Parses one `-A` argument: `NAME` or `NAME=value`.
    public static func define(_ argument: String) -> (name: String, value: String) {
        guard let eq = argument.firstIndex(of: "=") else { return (argument, "") }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }
}
