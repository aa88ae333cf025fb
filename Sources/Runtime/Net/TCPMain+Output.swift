import CShared
import SIP
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// The tcp main's other half: what other processes ask of it (bytes to send, connections
/// to close, aliases, keepalive), outgoing connections, and writing.
extension TCPMain {
    /// Requests from other processes: bytes to send, connections to close, aliases.
    mutating func takeRequests() {
        while true {
            switch outbound.tryTake(arena: arena) {
            case .nothing: return
            case .malformed(let kind): process.log.error("tcp", "unknown task kind \(kind) in the tcp-out queue")
            case .task(.tcp(let payload)):
                guard let envelope = TCPEnvelope(decoding: payload) else {
                    process.log.error("tcp", "a malformed request in the tcp-out queue (dropped)")
                    continue
                }
                perform(envelope)
            case .task:
                process.log.error("tcp", "a task that is not for the tcp main in the tcp-out queue (dropped)")
            }
        }
    }

    mutating func perform(_ envelope: TCPEnvelope) {
        let peer = envelope.peer
        switch envelope.operation {
        case .send:
            if let c = connection(for: peer) {
                queueOutput(c, envelope.bytes)
            } else if peer.connection != 0 {
                table.countSendFailed()
                process.log.error("tcp", "cannot send \(envelope.bytes.count) bytes to \(peer): the connection closed")
            } else {
                connect(peer, first: envelope.bytes)
            }
        case .close:
            if let fd = byID[peer.connection], let c = connections[fd] {
                close(c, reason: "closed by the script", counter: \.closed_by_script)
            }
        case .alias:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            let port = peer.address.port
            let count = Int(c.slot.pointee.alias_count)
            let existing = withUnsafeBytes(of: c.slot.pointee.alias_ports) { Array($0.bindMemory(to: UInt16.self).prefix(count)) }
            guard port != c.peer.address.port, !existing.contains(port) else { return }
            byAddress[c.peer.address.withPort(port)] = fd
            c.aliases.append(c.peer.address.withPort(port))
            guard count < Int(CS_TCP_MAX_ALIASES) else { return }
            withUnsafeMutableBytes(of: &c.slot.pointee.alias_ports) { $0.bindMemory(to: UInt16.self)[count] = port }
            c.slot.pointee.alias_count = UInt16(count + 1)
        case .keepaliveOff:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            var off: Int32 = 0
            _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, socklen_t(MemoryLayout<Int32>.size))
            c.slot.pointee.flags &= ~UInt32(CS_TCPF_KEEPALIVE)
        case .lifetime:
            guard let fd = byID[peer.connection], let c = connections[fd], envelope.bytes.count >= 4 else { return }
            let seconds = envelope.bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
            c.lifetimeMs = UInt64(seconds) * 1000
        case .enableClosedEvent:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            c.wantsClosedEvent = true
        case .keepalive:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            let words = envelope.bytes.count >= 12 ? (0..<3).map { i in
                envelope.bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            } : [0, 0, 0]
            StreamSocket.enableKeepalive(fd, idle: words[0], interval: words[1], count: words[2])
            c.slot.pointee.flags |= UInt32(CS_TCPF_KEEPALIVE)
        case .closeAfterOutput:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            if c.output.isEmpty { closeAfterReply(c) } else { c.closeWhenWritten = true }
        case .httpDone:
            guard let fd = byID[peer.connection], let c = connections[fd] else { return }
            httpDone(c)
        case .message, .closed, .sendFailed, .http:
            process.log.error("tcp", "a message for the tcp receivers in the tcp-out queue (dropped)")
        }
    }

    /// The connection a send goes on: the one it names (when that still leads to the same
    /// peer address), else an open one to the peer's address or alias.
    func connection(for peer: SIPPeer) -> TCPConnection? {
        if peer.connection != 0 {
            guard let fd = byID[peer.connection], let c = connections[fd], c.peer.address.host == peer.address.host else { return nil }
            return c
        }
        return byAddress[peer.address].flatMap { connections[$0] }
    }

    /// Opens a connection to `peer.address` from our socket and queues `first` on it.
    mutating func connect(_ peer: SIPPeer, first: ArraySlice<UInt8>) {
        let local = peer.socketIndex < process.sockets.count ? process.sockets[peer.socketIndex] : nil
        guard table.used < settings.maxConnections, let slot = cs_tcp_claim(table.raw) else {
            table.raw.pointee.refused += 1
            process.log.error("tcp", "cannot open a connection to \(peer.address): \(table.used) connections open (tcp_max_connections)")
            return
        }
        let opened: (fd: Int32, done: Bool)
        do {
            opened = try StreamSocket.connect(to: peer.address, from: local?.address)
        } catch {
            table.raw.pointee.connect_failed += 1
            cs_tcp_release(table.raw, slot)
            process.log.error("tcp", "cannot connect to \(peer.address): \(error)")
            reportUnsent([first], to: peer)
            return
        }
        StreamSocket.disableNagle(opened.fd)
        if settings.keepalive {
            StreamSocket.enableKeepalive(opened.fd, idle: settings.keepIdle, interval: settings.keepInterval, count: settings.keepCount)
        }
        var connected = peer
        connected.connection = slot.pointee.id
        adopt(opened.fd, slot, connected, outgoing: true, state: opened.done ? CS_TCP_OPEN : CS_TCP_CONNECTING)
        guard let c = connections[opened.fd] else { return }
        c.connectDeadlineMs = MonotonicClock.nowMs + UInt64(settings.connectTimeoutSeconds) * 1000
        if opened.done { table.raw.pointee.connected += 1 }
        queueOutput(c, first)
        if connections[opened.fd] != nil { watch(c, adding: true) }
    }

    /// Writes `bytes` now if nothing waits before them, else queues them behind; a queue
    /// beyond `tcp_conn_wq_max` closes the connection.
    mutating func queueOutput(_ c: TCPConnection, _ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        if bytes.count > 2 {
            c.slot.pointee.msgs_out += 1
            table.raw.pointee.msgs_out += 1
        }
        if c.connecting { c.queuedWhileConnecting.append(bytes) }
        if c.output.isEmpty && !c.connecting {
            switch bytes.withUnsafeBytes({ StreamSocket.write(c.fd, $0) }) {
            case .success(let n):
                noteWritten(c, n)
                guard n < bytes.count else { return }
                c.output.append(contentsOf: bytes[(bytes.startIndex + n)...])
            case .failure(let error):
                close(c, reason: "\(error)", counter: \.closed_send_error)
                return
            }
        } else {
            c.output.append(contentsOf: bytes)
        }
        if c.output.count > settings.connectionQueueMaxBytes {
            close(c, reason: "\(c.output.count) bytes wait to be written (tcp_conn_wq_max \(settings.connectionQueueMaxBytes))",
                  counter: \.closed_send_error)
            return
        }
        if c.outputSince == nil { c.outputSince = MonotonicClock.nowMs }
        c.slot.pointee.pending_out = UInt32(clamping: c.output.count)
        if !c.connecting { watch(c) }
    }

    /// Hands requests that never went out back to the tcp receivers, so that tm ends their
    /// branches at once (keepalive CRLFs and replies are not reported: nothing waits on them).
    func reportUnsent(_ messages: [ArraySlice<UInt8>], to peer: SIPPeer) {
        for bytes in messages where bytes.count > 2 && !bytes.starts(with: Array("SIP/2.0 ".utf8)) {
            deliver(TCPEnvelope(.sendFailed, peer: peer, bytes: bytes))
        }
    }

    /// Writes what waits, as far as the socket takes it.
    mutating func flush(_ c: TCPConnection) {
        guard !c.output.isEmpty else { return }
        switch c.output.withUnsafeBytes({ StreamSocket.write(c.fd, $0) }) {
        case .success(let n):
            noteWritten(c, n)
            c.output.removeFirst(n)
            c.slot.pointee.pending_out = UInt32(clamping: c.output.count)
            if c.output.isEmpty {
                c.output = []
                c.outputSince = nil
                if c.closeWhenWritten { return closeAfterReply(c) }
                watch(c)
            } else if n > 0 {
                c.outputSince = MonotonicClock.nowMs
            }
        case .failure(let error):
            close(c, reason: "\(error)", counter: \.closed_send_error)
        }
    }

    func noteWritten(_ c: TCPConnection, _ n: Int) {
        guard n > 0 else { return }
        let now = MonotonicClock.nowMs
        c.slot.pointee.bytes_out += UInt64(n)
        c.slot.pointee.last_activity_ms = now
        c.lastActivityMs = now
        table.raw.pointee.bytes_out += UInt64(n)
    }

    /// Watches for reads, and for room to write while bytes wait (or a connect finishes).
    func watch(_ c: TCPConnection, adding: Bool = false) {
        var bits = UInt32(CS_EPOLL_IN | CS_EPOLL_RDHUP)
        if c.connecting || !c.output.isEmpty { bits |= UInt32(CS_EPOLL_OUT) }
        guard adding || bits != c.watched else { return }
        _ = cs_epoll_watch(epoll, c.fd, bits, adding ? 1 : 0)
        c.watched = bits
    }
}
