import Script
import Shared

/// tcpops: what a script may do with a TCP connection, named by its id (`$conid`) or,
/// without one, the connection of the message being handled. Every function asks the
/// arena table whether the connection lives, and hands any change to the tcp main.
enum TCPOpsModule {
    static let spec = ModuleSpec(name: "tcpops", params: [
        ModuleParamSpec("closed_event", .int, default: .int(1)),
        ModuleParamSpec("event_callback", .string),
    ], functions: [
        FunctionSpec("tcp_conid_state", args: [.int]) { ctx, args in
            conidState(args.int(0, &ctx), ctx.message)
        },
        FunctionSpec("tcp_conid_alive", args: [.int]) { ctx, args in
            conidState(args.int(0, &ctx), ctx.message) == 1 ? 1 : -1
        },
        FunctionSpec("tcp_keepalive_enable", args: [.int, .int, .int, .int], minArgs: 3) { ctx, args in
            // (idle, count, interval) for the message's connection, or (conid, idle, count, interval).
            let values = (0..<args.count).map { args.int($0, &ctx) }
            guard values.allSatisfy({ $0 != nil && $0! >= 0 }) else { return -1 }
            let v = values.map { $0! }
            let conid = v.count == 4 ? v[0] : nil
            let (idle, count, interval) = v.count == 4 ? (v[1], v[2], v[3]) : (v[0], v[1], v[2])
            var words: [UInt8] = []
            for w in [idle, interval, count] { withUnsafeBytes(of: UInt32(clamping: w).littleEndian) { words += $0 } }
            return request(.keepalive, conid, ctx.message, bytes: words) ? 1 : -1
        },
        FunctionSpec("tcp_keepalive_disable", args: [.int], minArgs: 0) { ctx, args in
            request(.keepaliveOff, args.count > 0 ? args.int(0, &ctx) : nil, ctx.message) ? 1 : -1
        },
        FunctionSpec("tcp_set_connection_lifetime", args: [.int, .int], minArgs: 1) { ctx, args in
            let values = (0..<args.count).map { args.int($0, &ctx) }
            guard let seconds = values.last ?? nil, seconds > 0 else { return -1 }
            let conid = values.count == 2 ? values[0] : nil
            if values.count == 2 && conid == nil { return -1 }
            var bytes: [UInt8] = []
            withUnsafeBytes(of: UInt32(clamping: seconds).littleEndian) { bytes += $0 }
            return request(.lifetime, conid, ctx.message, bytes: bytes) ? 1 : -1
        },
        FunctionSpec("tcp_enable_closed_event", args: [.int], minArgs: 0) { ctx, args in
            request(.enableClosedEvent, args.count > 0 ? args.int(0, &ctx) : nil, ctx.message) ? 1 : -1
        },
        FunctionSpec("tcp_close_connection", args: [.int], minArgs: 0) { ctx, args in
            let conid = args.count > 0 ? args.int(0, &ctx) : nil
            return request(.close, conid, ctx.message) ? 1 : -1
        },
        FunctionSpec("tcp_get_conid", args: [.string, .variable]) { ctx, args in
            let m = ctx.message
            let text = args.string(0, &ctx)
            guard let table = m.process.tcp?.table,
                  let target = SocketAddress(parsing: text, defaultPort: 5060),
                  let found = table.connections(to: target).first else { return -1 }
            return args.assign(1, .int(Int(found.id)), &ctx) ? 1 : -1
        },
    ])

    /// tcp_conid_state's answer: 1 open, 3 connecting out, -1 no such connection.
    static func conidState(_ conid: Int?, _ m: MessageContext) -> Int {
        guard let conid, conid > 0, conid <= Int(UInt32.max), let table = m.process.tcp?.table,
              let c = table.connection(UInt32(conid)) else { return -1 }
        return c.isOpen ? 1 : 3
    }

    /// Hands `operation` for connection `conid` (nil: the message's own) to the tcp main;
    /// false, logged, when there is no such connection.
    static func request(_ operation: TCPEnvelope.Operation, _ conid: Int?, _ m: MessageContext, bytes: [UInt8] = []) -> Bool {
        guard let tcp = m.process.tcp else {
            m.process.log.error("tcpops", "\(operation): TCP is not in use")
            return false
        }
        let id = conid ?? (m.peer.transport == .tcp ? Int(m.peer.connection) : 0)
        guard id > 0, id <= Int(UInt32.max), let c = tcp.table.connection(UInt32(id)) else {
            m.process.log.notice("tcpops", "\(operation): no connection \(conid.map(String.init) ?? "for this message")")
            return false
        }
        return tcp.request(TCPEnvelope(operation, peer: c.peer, bytes: bytes[...]), log: m.process.log)
    }
}

/// The transport's variables and core keywords: `$proto`, `$af`, `$conid`, `$fs`,
/// `$RAi`, `$RAp`; `proto == TCP`, `af == INET6`, `src_port`, `dst_port`...
enum TransportVariables {
    static func register(_ r: inout ScriptRegistry) {
        for (name, value) in [("UDP", 1), ("TCP", 2), ("TLS", 3), ("SCTP", 4), ("WS", 5), ("WSS", 6), ("INET", 2), ("INET6", 10)] {
            r.register(keywordConstant: name, .int(value))
            r.register(keywordConstant: name.lowercased(), .int(value))
        }
        let keywords: [(String, @Sendable (MessageContext) -> Value)] = [
            ("proto", { .int(Int($0.peer.transport.rawValue)) }),
            ("af", { .int($0.source.family == .ipv4 ? 2 : 10) }),
            ("src_ip", { .string($0.source.host) }),
            ("src_port", { .int(Int($0.source.port)) }),
            ("dst_ip", { .string($0.socket.address.host) }),
            ("dst_port", { .int(Int($0.socket.address.port)) }),
            ("method", { m in .string(m.message.isRequest ? m.message.text(m.message.methodRange) : m.message.cseq.method.name) }),
            ("status", { $0.message.isRequest ? .null : .int($0.message.statusCode) }),
        ]
        for (name, get) in keywords {
            r.register(keyword: VariableClassSpec(name) { ctx, _ in get(ctx.message) })
        }
    }

    static func uri(_ address: SocketAddress, _ transport: SIPTransport) -> String {
        "sip:\(address)" + (transport == .udp ? "" : ";transport=\(transport.name)")
    }

    /// `$pr`, `$proto`, `$af`, `$conid`, `$fs`, `$RAi`, `$RAp`, `$Ru`, `$su`, for the pv module.
    static let variables: [VariableClassSpec] = [
        PVModule.readOnly("pr") { m in .string(m.peer.transport.name) },
        PVModule.readOnly("proto") { m in .string(m.peer.transport.name) },
        // As Kamailio's: `$af(id)` is 2 or 10 (AF_INET, AF_INET6), `$af(name)` IPv4 or IPv6.
        VariableClassSpec("af", nameRule: .required, validateName: { $0 == "id" || $0 == "name" ? nil : "expects id or name" }) { ctx, name in
            let v4 = ctx.message.source.family == .ipv4
            return name.name == "name" ? .string(v4 ? "IPv4" : "IPv6") : .int(v4 ? 2 : 10)
        },
        // `$Ru`, `$su`: our socket and the sender as URIs, `;transport=` when not UDP.
        PVModule.readOnly("Ru") { m in .string(uri(m.socket.address, m.socket.transport)) },
        PVModule.readOnly("su") { m in .string(uri(m.source, m.peer.transport)) },
        PVModule.readOnly("conid") { m in m.peer.connection == 0 ? .null : .int(Int(m.peer.connection)) },
        PVModule.readOnly("RAi") { m in .string(m.socket.advertise?.host ?? m.socket.address.host) },
        PVModule.readOnly("RAp") { m in .int(m.socket.viaPort) },
        VariableClassSpec("fs", get: { ctx, _ in
            let m = ctx.message
            guard let index = m.edits.forceSocket, index < m.process.sockets.count else { return .null }
            return .string(m.process.sockets[index].name)
        }, set: { ctx, _, value in
            let m = ctx.message
            guard !value.isNull else {
                m.edits.forceSocket = nil
                return true
            }
            guard let spec = try? ListenSpec.parse(value.stringValue).get(),
                  let socket = m.process.sockets.first(where: {
                      $0.address == spec.address && (spec.transport == nil || spec.transport == $0.transport)
                  }) else {
                m.process.log.error("core", "$fs: '\(value.stringValue)' is not one of our listen sockets")
                return false
            }
            m.edits.forceSocket = socket.index
            return true
        }),
    ]
}
