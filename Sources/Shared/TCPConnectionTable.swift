import CShared

/// The TCP connections in the arena (section "tcpconn", cs_tcp.h). The tcp main is the
/// only process that claims, fills and frees slots; every process may look a connection
/// up by id to learn whether it still lives, and where it leads.
public struct TCPConnectionTable: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_tcp_table>

    public static let section = "tcpconn"

    public init(raw: UnsafeMutablePointer<cs_tcp_table>) { self.raw = raw }

    public var capacity: Int { Int(raw.pointee.capacity) }
    public var used: Int { Int(cs_atomic_load_u32(&raw.pointee.used)) }

    /// What a live connection is, as far as another process needs to know.
    public struct Connection: Sendable, Equatable {
        public var id: UInt32
        public var peer: SIPPeer
        public var isOutgoing: Bool
        public var isOpen: Bool
        public var aliasPorts: [UInt16]
    }

    /// The connection `id` names, or nil when it is closed (or never was).
    public func connection(_ id: UInt32) -> Connection? {
        guard let c = cs_tcp_find(raw, id) else { return nil }
        let slot = c.pointee
        let aliases = withUnsafeBytes(of: slot.alias_ports) { Array($0.bindMemory(to: UInt16.self).prefix(Int(min(slot.alias_count, UInt16(CS_TCP_MAX_ALIASES))))) }
        guard let peer = SIPPeer(slot.peer), cs_tcp_find(raw, id) != nil else { return nil }
        return Connection(id: id, peer: peer, isOutgoing: slot.flags & UInt32(CS_TCPF_OUTGOING) != 0,
                          isOpen: slot.state == CS_TCP_OPEN.rawValue, aliasPorts: aliases)
    }

    /// Whether connection `id` is still open (or opening) to `address`'s host: what a
    /// sender checks before it queues bytes, without copying the slot out.
    public func leads(_ id: UInt32, toHostOf address: SocketAddress) -> Bool {
        guard let c = cs_tcp_find(raw, id) else { return false }
        let wanted = address.bytes
        let matches = withUnsafeBytes(of: c.pointee.peer.addr) { Array($0.prefix(wanted.count)) == wanted }
            && c.pointee.peer.family == (address.family == .ipv4 ? 4 : 6)
        return matches && cs_tcp_find(raw, id) != nil
    }

    /// Every live connection to `address` (its port, or one of its aliases) over any of
    /// our sockets: for `tcp_get_conid`. A walk of the table: not for the message path.
    public func connections(to address: SocketAddress) -> [Connection] {
        var found: [Connection] = []
        for i in 0..<UInt32(capacity) {
            guard let slot = cs_tcp_at(raw, i), slot.pointee.id != 0,
                  let c = connection(slot.pointee.id) else { continue }
            if c.peer.address == address || (c.peer.address.withPort(address.port) == address && c.aliasPorts.contains(address.port)) {
                found.append(c)
            }
        }
        return found
    }

    public func countSendFailed() { cs_tcp_count_send_failed(raw) }
    public func countQueueFull() { cs_tcp_count_queue_full(raw) }
}

extension ArenaRef {
    /// Lays out section "tcpconn" with `capacity` slots (the master, before fork).
    public func installTCPConnections(capacity: Int) throws(ArenaError) -> TCPConnectionTable {
        guard capacity > 0, capacity <= Int(CS_TCP_MAX_CAPACITY) else {
            throw .invalidLayout("tcp connection table: capacity \(capacity) is not in 1...\(CS_TCP_MAX_CAPACITY)")
        }
        let memory = try addSection(TCPConnectionTable.section, size: Int(cs_tcp_table_bytes(UInt32(capacity))),
                                    kind: CS_SECTION_TCPCONN, version: CS_TCP_VERSION)
        let table = memory.assumingMemoryBound(to: cs_tcp_table.self)
        cs_tcp_table_init(table, UInt32(capacity))
        return TCPConnectionTable(raw: table)
    }

    /// Section "tcpconn", if the server has one.
    public var tcpConnections: TCPConnectionTable? {
        section(TCPConnectionTable.section).map { TCPConnectionTable(raw: $0.assumingMemoryBound(to: cs_tcp_table.self)) }
    }
}
