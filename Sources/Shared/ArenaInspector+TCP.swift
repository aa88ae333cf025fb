import CShared

extension ArenaReport {
    /// Section "tcpconn": the TCP connections and their counters.
    public struct TCPConnections: Codable, Sendable {
        public var capacity: UInt32
        public var used: UInt32
        public var highWater: UInt32
        public var accepted: UInt64
        public var connected: UInt64
        public var refused: UInt64
        public var connectFailed: UInt64
        public var closedByPeer: UInt64
        public var closedIdle: UInt64
        public var closedReadTimeout: UInt64
        public var closedBadInput: UInt64
        public var closedByScript: UInt64
        public var closedSendError: UInt64
        public var messagesIn: UInt64
        public var messagesOut: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var sendFailed: UInt64
        public var queueFull: UInt64
        /// Arena bytes each connection takes (fixed, whether in use or not).
        public var slotBytes: Int
        /// The open connections, most recently active first (at most `ArenaInspector.maxTransactions`).
        public var connections: [TCPConnection]
    }

    public struct TCPConnection: Codable, Sendable {
        /// `$conid`.
        public var id: UInt32
        /// "connecting" or "open".
        public var state: String
        /// "in" (a peer connected to us) or "out" (we opened it to relay).
        public var direction: String
        public var peer: String
        /// Index of our listen socket.
        public var socket: UInt16
        public var aliasPorts: [UInt16]
        public var ownerPID: Int32
        public var ageMs: UInt64
        public var idleMs: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var messagesIn: UInt64
        public var messagesOut: UInt64
        public var pendingOut: UInt32
        public var keepalive: Bool
    }
}

extension ArenaInspector {
    func readTCPConnections(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.TCPConnections? {
        guard let (table, capacity, slotAt) = headerAndRows(s, cs_tcp_table.self, cs_tcp_conn.self,
                                                            what: "tcp connection table", claimed: { Int($0.capacity) }, &problems)
        else { return nil }
        let now = cs_now_ms()
        var open: [ArenaReport.TCPConnection] = []
        var inUse = 0
        for i in 0..<capacity {
            guard let c = slotAt(i), c.id != 0, c.state != CS_TCP_FREE.rawValue else { continue }
            inUse += 1
            let aliases = withUnsafeBytes(of: c.alias_ports) {
                Array($0.bindMemory(to: UInt16.self).prefix(Int(min(c.alias_count, UInt16(CS_TCP_MAX_ALIASES)))))
            }
            open.append(.init(
                id: c.id, state: c.state == CS_TCP_CONNECTING.rawValue ? "connecting" : "open",
                direction: c.flags & UInt32(CS_TCPF_OUTGOING) != 0 ? "out" : "in",
                peer: SIPPeer(c.peer).map { "\($0.transport.name):\($0.address)" } ?? "(damaged address)",
                socket: c.peer.socket_index, aliasPorts: aliases, ownerPID: c.owner_pid,
                ageMs: now >= c.created_ms ? now - c.created_ms : 0,
                idleMs: now >= c.last_activity_ms ? now - c.last_activity_ms : 0,
                bytesIn: c.bytes_in, bytesOut: c.bytes_out, messagesIn: c.msgs_in, messagesOut: c.msgs_out,
                pendingOut: c.pending_out, keepalive: c.flags & UInt32(CS_TCPF_KEEPALIVE) != 0))
        }
        if inUse != Int(table.used) {
            problems.append("tcp connection table: \(inUse) slots in use, the table counts \(table.used)")
        }
        open.sort { $0.idleMs < $1.idleMs }
        return ArenaReport.TCPConnections(
            capacity: table.capacity, used: table.used, highWater: table.high_water, accepted: table.accepted,
            connected: table.connected, refused: table.refused, connectFailed: table.connect_failed,
            closedByPeer: table.closed_by_peer, closedIdle: table.closed_idle,
            closedReadTimeout: table.closed_read_timeout, closedBadInput: table.closed_bad_input,
            closedByScript: table.closed_by_script, closedSendError: table.closed_send_error,
            messagesIn: table.msgs_in, messagesOut: table.msgs_out, bytesIn: table.bytes_in, bytesOut: table.bytes_out,
            sendFailed: table.send_failed, queueFull: table.queue_full, slotBytes: MemoryLayout<cs_tcp_conn>.stride,
            connections: Array(open.prefix(maxTransactions)))
    }
}
