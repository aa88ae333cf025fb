import Script

/// The core parameters of the TCP transport, under Kamailio's names and with its defaults
/// (times in seconds, as Kamailio takes them).
public struct TCPSettings: Sendable, Equatable {
    /// `disable_tcp`: no TCP listener, no tcp main, no relaying over TCP.
    public var disabled = false
    /// `tcp_children`: receivers of framed TCP messages (unset: as many as `children`).
    public var children: Int?
    /// `tcp_connection_lifetime`: a connection with no traffic for this long is closed.
    public var lifetimeSeconds = 120
    /// `tcp_max_connections`: connections open at once, in and out; beyond, new ones are
    /// refused (accepted and closed at once) and existing ones keep working.
    public var maxConnections = 2048
    /// `tcp_accept_no_cl`: a message without Content-Length is taken as having no body;
    /// otherwise (the default) it closes the connection.
    public var acceptNoContentLength = false
    /// `tcp_connect_timeout`: how long an outgoing connect may take.
    public var connectTimeoutSeconds = 10
    /// `tcp_send_timeout`: how long bytes may wait for a peer that does not read.
    public var sendTimeoutSeconds = 10
    /// `tcp_msg_read_timeout`: how long one message may take to arrive once it started
    /// (a client that trickles bytes is closed then).
    public var messageReadTimeoutSeconds = 20
    /// `tcp_keepalive` and its `tcp_keepidle`, `tcp_keepintvl`, `tcp_keepcnt` (0: the kernel's).
    public var keepalive = true
    public var keepIdle = 0
    public var keepInterval = 0
    public var keepCount = 0
    /// `tcp_conn_wq_max`: bytes that may wait to be written on one connection.
    public var connectionQueueMaxBytes = 32 * 1024
    /// `tcp_accept_aliases`: a request whose Via carries `;alias` makes its connection
    /// serve the Via's port too (RFC 5923).
    public var acceptAliases = false
    /// The largest SIP message a connection may carry (Kamailio's read buffer, 64 KB).
    public static let maxMessageBytes = 65535

    public init() {}

    /// The settings a loaded config asks for.
    public init(_ settings: ConfigSettings) {
        disabled = settings.coreInt("disable_tcp") == 1
        children = settings.core["tcp_children"] == nil ? nil : settings.coreInt("tcp_children")
        lifetimeSeconds = settings.coreInt("tcp_connection_lifetime") ?? lifetimeSeconds
        maxConnections = settings.coreInt("tcp_max_connections") ?? maxConnections
        acceptNoContentLength = settings.coreInt("tcp_accept_no_cl") == 1
        connectTimeoutSeconds = settings.coreInt("tcp_connect_timeout") ?? connectTimeoutSeconds
        sendTimeoutSeconds = settings.coreInt("tcp_send_timeout") ?? sendTimeoutSeconds
        messageReadTimeoutSeconds = settings.coreInt("tcp_msg_read_timeout") ?? messageReadTimeoutSeconds
        keepalive = (settings.coreInt("tcp_keepalive") ?? 1) == 1
        keepIdle = settings.coreInt("tcp_keepidle") ?? 0
        keepInterval = settings.coreInt("tcp_keepintvl") ?? 0
        keepCount = settings.coreInt("tcp_keepcnt") ?? 0
        connectionQueueMaxBytes = settings.coreInt("tcp_conn_wq_max") ?? connectionQueueMaxBytes
        acceptAliases = settings.coreInt("tcp_accept_aliases") == 1
    }

    /// The parameters, for the registry: each with its range.
    static let params: [CoreParamSpec] = {
        func ranged(_ name: String, _ range: ClosedRange<Int>) -> CoreParamSpec {
            CoreParamSpec(name, .int) { value in
                if case .int(let n) = value, !range.contains(n) { return "\(name) must be between \(range.lowerBound) and \(range.upperBound)" }
                return nil
            }
        }
        return [
            ranged("tcp_children", 1...64),
            ranged("tcp_connection_lifetime", 1...864_000),
            ranged("tcp_max_connections", 1...Int(1 << 20) - 1),
            ranged("tcp_connect_timeout", 1...3600),
            ranged("tcp_send_timeout", 1...3600),
            ranged("tcp_msg_read_timeout", 1...3600),
            ranged("tcp_keepidle", 0...86400),
            ranged("tcp_keepintvl", 0...86400),
            ranged("tcp_keepcnt", 0...1000),
            ranged("tcp_conn_wq_max", 1024...(64 << 20)),
            CoreParamSpec("tcp_accept_no_cl", .bool, default: .int(0)),
            CoreParamSpec("tcp_keepalive", .bool, default: .int(1)),
            CoreParamSpec("tcp_accept_aliases", .bool, default: .int(0)),
            // Accepted so that configs written for Kamailio load; Respite's sends are always
            // queued to the tcp main (tcp_async), and the total queue is the arena.
            CoreParamSpec("tcp_async", .bool, default: .int(1)),
            CoreParamSpec("tcp_wq_max", .int),
            CoreParamSpec("tcp_rd_buf_size", .int),
            CoreParamSpec("tcp_reuse_port", .bool, default: .int(0)),
            CoreParamSpec("tcp_crlf_ping", .bool, default: .int(1)),
        ]
    }()
}
