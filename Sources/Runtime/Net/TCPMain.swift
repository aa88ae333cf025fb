import CShared
import SIP
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The `tcp main process`: the one process that holds TCP descriptors. It accepts
/// connections, reads them, cuts the byte streams into SIP messages and hands each to
/// the tcp receivers through the "tcp" queue; it takes bytes to send from anyone through
/// "tcp-out" and writes them, opening outgoing connections on demand; it closes idle,
/// stalled and misbehaving connections. It runs no script, so a slow route never delays
/// another connection's reads. Every connection is mirrored in the arena table (section
/// "tcpconn"), which only this process writes.
struct TCPMain {
    let process: ProcessContext
    let settings: TCPSettings
    let table: TCPConnectionTable
    let inbound: TaskQueueRef
    let outbound: TaskQueueRef
    let doorbell: EventDoorbell
    let arena: ArenaRef
    let epoll: Int32
    /// Listening descriptors and the sockets they serve.
    var listeners: [Int32: LocalSocket] = [:]
    var connections: [Int32: TCPConnection] = [:]
    var byID: [UInt32: Int32] = [:]
    /// Open connections by the peer address they reach (and their aliases).
    var byAddress: [SocketAddress: Int32] = [:]
    var eventLog = LogRateLimiter()
    /// tcpops' `closed_event` (0 never, 1 always, 2 for connections that asked) and the
    /// event routes the script has: a close raises one only when both say so.
    let closedEventMode: Int
    let closedEventRoutes: Set<String>
    /// The config loads xhttp: a stream starting with an HTTP request line is framed as
    /// HTTP (TCPMain+HTTP.swift).
    let httpEnabled: Bool
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    var nextSweepMs: UInt64 = 0

    init?(process: ProcessContext, settings: TCPSettings, table: TCPConnectionTable, inbound: TaskQueueRef,
          outbound: TaskQueueRef, doorbell: EventDoorbell) {
        let epoll = cs_epoll_create()
        guard epoll >= 0 else { return nil }
        self.process = process
        self.settings = settings
        self.table = table
        self.inbound = inbound
        self.outbound = outbound
        self.doorbell = doorbell
        self.arena = process.arena
        self.epoll = epoll
        let config = process.program.settings
        closedEventMode = config.modules.contains("tcpops") ? config.modparamInt("tcpops", "closed_event") ?? 1 : 0
        httpEnabled = config.modules.contains("xhttp")
        closedEventRoutes = Set(["tcp:closed", "tcp:timeout", "tcp:reset"].filter {
            process.program.routeIndex($0, in: .event) != nil
        })
        TCPMain.raiseDescriptorLimit(to: settings.maxConnections + 64)
        _ = cs_epoll_watch(epoll, doorbell.fd, UInt32(CS_EPOLL_IN), 1)
        for socket in process.sockets where socket.transport == .tcp && socket.listenerFD >= 0 {
            listeners[socket.listenerFD] = socket
            _ = cs_epoll_watch(epoll, socket.listenerFD, UInt32(CS_EPOLL_IN), 1)
        }
    }

    /// The soft limit on descriptors, raised towards what `tcp_max_connections` needs
    /// (within the hard limit).
    static func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    mutating func run() -> Never {
        var fds = [Int32](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while true {
            let n = fds.withUnsafeMutableBufferPointer { f in
                events.withUnsafeMutableBufferPointer { e in cs_epoll_wait(epoll, f.baseAddress, e.baseAddress, 256, 250) }
            }
            for i in 0..<Int(max(n, 0)) {
                let fd = fds[i], bits = events[i]
                if fd == doorbell.fd {
                    doorbell.drain()
                } else if let socket = listeners[fd] {
                    acceptAll(fd, socket)
                } else if connections[fd] != nil {
                    handle(fd, bits)
                }
            }
            takeRequests()
            let now = MonotonicClock.nowMs
            if now >= nextSweepMs {
                sweep(now)
                nextSweepMs = now + 250
            }
        }
    }

    // MARK: accepting

    mutating func acceptAll(_ listener: Int32, _ socket: LocalSocket) {
        while true {
            let accepted: (fd: Int32, peer: SocketAddress)?
            do {
                accepted = try StreamSocket.accept(listener)
            } catch {
                logEvent(socket.address, "accept on \(socket.name) failed: \(error)")
                return
            }
            guard let (fd, address) = accepted else { return }
            guard table.used < settings.maxConnections, let slot = cs_tcp_claim(table.raw) else {
                table.raw.pointee.refused += 1
                StreamSocket.abort(fd)
                logEvent(address, "connection from \(address) refused: \(table.used) connections open (tcp_max_connections \(settings.maxConnections))")
                continue
            }
            table.raw.pointee.accepted += 1
            StreamSocket.disableNagle(fd)
            if settings.keepalive {
                StreamSocket.enableKeepalive(fd, idle: settings.keepIdle, interval: settings.keepInterval, count: settings.keepCount)
            }
            let peer = SIPPeer(transport: .tcp, address: address, socketIndex: socket.index, connection: slot.pointee.id)
            adopt(fd, slot, peer, outgoing: false, state: CS_TCP_OPEN)
            if let c = connections[fd] { watch(c, adding: true) }
        }
    }

    /// Records a new connection here and in its arena slot, then publishes the slot.
    mutating func adopt(_ fd: Int32, _ slot: UnsafeMutablePointer<cs_tcp_conn>, _ peer: SIPPeer, outgoing: Bool,
                        state: cs_tcp_state) {
        let now = MonotonicClock.nowMs
        slot.pointee.fd = fd
        slot.pointee.peer = peer.raw
        slot.pointee.owner_pid = getpid()
        slot.pointee.created_ms = now
        slot.pointee.last_activity_ms = now
        var flags: UInt32 = outgoing ? UInt32(CS_TCPF_OUTGOING) : 0
        if settings.keepalive { flags |= UInt32(CS_TCPF_KEEPALIVE) }
        slot.pointee.flags = flags
        cs_tcp_publish(slot, state.rawValue)
        let connection = TCPConnection(fd: fd, slot: slot, peer: peer, nowMs: now)
        connection.connecting = state == CS_TCP_CONNECTING
        connections[fd] = connection
        byID[peer.connection] = fd
        byAddress[peer.address] = fd
    }

    // MARK: events on a connection

    mutating func handle(_ fd: Int32, _ bits: UInt32) {
        guard let c = connections[fd] else { return }
        if c.connecting {
            guard bits & UInt32(CS_EPOLL_OUT | CS_EPOLL_ERR | CS_EPOLL_HUP) != 0 else { return }
            let error = StreamSocket.connectResult(fd)
            guard error == 0 else {
                table.raw.pointee.connect_failed += 1
                close(c, reason: "connect to \(c.peer.address) failed: \(String(cString: strerror(error)))", counter: nil)
                reportUnsent(c.queuedWhileConnecting, to: c.peer)
                return
            }
            c.connecting = false
            c.queuedWhileConnecting = []
            cs_tcp_publish(c.slot, CS_TCP_OPEN.rawValue)
            table.raw.pointee.connected += 1
            flush(c)
            guard connections[fd] != nil else { return }
            watch(c)
            return
        }
        if bits & UInt32(CS_EPOLL_OUT) != 0 {
            flush(c)
            guard connections[fd] != nil else { return }
        }
        if bits & UInt32(CS_EPOLL_IN | CS_EPOLL_ERR | CS_EPOLL_HUP | CS_EPOLL_RDHUP) != 0 {
            read(c)
        }
    }

    /// Reads what the connection has, then hands every whole message on.
    mutating func read(_ c: TCPConnection) {
        switch StreamSocket.read(c.fd, into: scratch) {
        case .wouldBlock:
            return
        case .closed:
            close(c, reason: nil, counter: \.closed_by_peer, event: .closed)
            return
        case .failed(let error):
            close(c, reason: nil, counter: \.closed_by_peer, detail: String(cString: strerror(error)),
                  event: error == ECONNRESET ? .reset : .closed)
            return
        case .bytes(let count):
            let now = MonotonicClock.nowMs
            if c.input.isEmpty { c.messageStartedMs = now }
            c.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            c.slot.pointee.bytes_in += UInt64(count)
            c.slot.pointee.last_activity_ms = now
            c.lastActivityMs = now
            table.raw.pointee.bytes_in += UInt64(count)
        }
        frameMessages(c)
    }

    mutating func frameMessages(_ c: TCPConnection) {
        var consumed = 0
        defer {
            if consumed > 0 {
                // An idle connection keeps no buffer.
                if consumed == c.input.count { c.input = [] } else { c.input.removeFirst(consumed) }
                c.messageStartedMs = c.input.isEmpty ? nil : MonotonicClock.nowMs
            }
        }
        while consumed < c.input.count {
            if httpEnabled, let framed = frameHTTP(c, &consumed) {
                if framed { continue } else { return }
            }
            let frame = c.input.withUnsafeBytes {
                TCPFraming.next(UnsafeRawBufferPointer(rebasing: $0[consumed...]), maxBytes: TCPSettings.maxMessageBytes,
                                acceptNoContentLength: settings.acceptNoContentLength)
            }
            switch frame {
            case .incomplete:
                return
            case .keepalive(let length, let ping):
                consumed += length
                if ping { queueOutput(c, [0x0D, 0x0A]) }
            case .message(let length):
                let message = c.input[consumed..<(consumed + length)]
                consumed += length
                c.slot.pointee.msgs_in += 1
                table.raw.pointee.msgs_in += 1
                deliver(TCPEnvelope(.message, peer: c.peer, bytes: message))
            case .bad(let reason, let tooLarge):
                if tooLarge { answerTooLarge(c, Array(c.input[consumed...])) }
                consumed = c.input.count
                close(c, reason: reason, counter: \.closed_bad_input)
                return
            }
        }
    }

    /// Hands a message to the tcp receivers. A full queue is waited on briefly (the
    /// receivers drain it fast); a queue that stays full drops the message, logged and
    /// counted, as an overloaded UDP socket would.
    func deliver(_ envelope: TCPEnvelope) {
        let payload = envelope.encoded()
        for attempt in 0..<50 {
            switch inbound.push(.tcp(payload: payload), arena: arena, nonblocking: true) {
            case .queued: return
            case .noMemory:
                process.log.error("tcp", "no shared memory for a \(envelope.bytes.count)-byte message from \(envelope.peer): dropped")
                return
            case .full:
                if attempt == 0 { table.countQueueFull() }
                usleep(1000)
            }
        }
        process.log.error("tcp", "the tcp receivers' queue stayed full: a message from \(envelope.peer) was dropped")
    }

    /// 413 for a request whose head parses (its body would not fit), before the connection
    /// closes.
    func answerTooLarge(_ c: TCPConnection, _ head: [UInt8]) {
        let message: SIPMessage
        do {
            message = try SIPMessage.parse(head)
        } catch {
            guard let partial = error.partial else { return }
            message = partial
        }
        guard message.isRequest, message.method != .ack else { return }
        var out = MessageBuffer(capacity: 512)
        ReplyBuilder.reply(to: message, status: 413, reason: "Request Entity Too Large", tagSeed: process.tagSeed,
                           extraHeaders: [(name: "Server", value: process.settings.serverHeader)], into: &out)
        _ = out.bytes.withUnsafeBytes { StreamSocket.write(c.fd, $0) }
    }

    // MARK: closing

    /// Closes a connection: its descriptor, its entries here and its arena slot (its id
    /// names nothing from now on). `reason` is logged; `counter` counts it.
    mutating func close(_ c: TCPConnection, reason: String?, counter: WritableKeyPath<cs_tcp_table, UInt64>?,
                        detail: String? = nil, event: TCPClosedEvent? = nil) {
        if let counter { table.raw.pointee[keyPath: counter] += 1 }
        if let reason { logEvent(c.peer.address, "connection #\(c.peer.connection) with \(c.peer.address) closed: \(reason)") }
        if let detail { process.log.debug("tcp", "connection #\(c.peer.connection) with \(c.peer.address): \(detail)") }
        // (Closing the descriptor takes it out of the epoll set: no other process holds it.)
        if reason != nil && counter == \.closed_bad_input { StreamSocket.abort(c.fd) } else { Posix.close(c.fd) }
        connections[c.fd] = nil
        byID[c.peer.connection] = nil
        for address in [c.peer.address] + c.aliases where byAddress[address] == c.fd { byAddress[address] = nil }
        cs_tcp_release(table.raw, c.slot)
        if let event, closedEventMode == 1 || (closedEventMode == 2 && c.wantsClosedEvent),
           closedEventRoutes.contains(event.routeName) {
            deliver(TCPEnvelope(.closed, peer: c.peer, bytes: [event.rawValue]))
        }
    }

    /// Closes what has been idle past `tcp_connection_lifetime`, a message started and
    /// not finished within `tcp_msg_read_timeout`, a connect past `tcp_connect_timeout`,
    /// and bytes that could not be written for `tcp_send_timeout`.
    mutating func sweep(_ now: UInt64) {
        let lifetime = UInt64(settings.lifetimeSeconds) * 1000
        let readTimeout = UInt64(settings.messageReadTimeoutSeconds) * 1000
        let sendTimeout = UInt64(settings.sendTimeoutSeconds) * 1000
        for c in Array(connections.values) {
            if c.connecting, now >= c.connectDeadlineMs {
                table.raw.pointee.connect_failed += 1
                close(c, reason: "connect timed out after \(settings.connectTimeoutSeconds) s", counter: nil)
                reportUnsent(c.queuedWhileConnecting, to: c.peer)
            } else if let since = c.messageStartedMs, now - since >= readTimeout {
                close(c, reason: "a message started \(now - since) ms ago and is not complete (tcp_msg_read_timeout)",
                      counter: \.closed_read_timeout, event: .timeout)
            } else if let since = c.outputSince, now - since >= sendTimeout {
                close(c, reason: "\(c.output.count) bytes could not be written for \(now - since) ms (tcp_send_timeout)",
                      counter: \.closed_send_error)
            } else if now - c.lastActivityMs >= (c.lifetimeMs ?? lifetime) {
                close(c, reason: nil, counter: \.closed_idle, event: .timeout)
                process.log.debug("tcp", "connection #\(c.peer.connection) with \(c.peer.address) closed after \(settings.lifetimeSeconds) s without traffic")
            }
        }
    }

    /// A line about a connection event, within the rate limit per peer host.
    mutating func logEvent(_ peer: SocketAddress, _ line: String) {
        let verdict = eventLog.admit(peer, nowNs: MonotonicClock.nowNs)
        if let summary = verdict.summary { process.log.notice("tcp", "connection events: \(summary)") }
        if verdict.write { process.log.notice("tcp", line) } else { process.count(.logSuppressed) }
    }
}
