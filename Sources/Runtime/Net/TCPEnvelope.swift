import CShared
import Shared

/// What travels in the TCP transport's two queues, as one payload: a 4-byte operation,
/// the peer as a transaction records it (`cs_peer`, 28 bytes), then the bytes. The
/// "tcp" queue carries `.message` (a framed SIP message a peer sent, for a tcp receiver),
/// `.http`, `.closed` and `.sendFailed`;
/// "tcp-out" carries the rest, for the tcp main.
struct TCPEnvelope {
    enum Operation: UInt32 {
        /// A whole SIP message read from connection `peer.connection`.
        case message = 1
        /// Send `bytes` to `peer`: on connection `peer.connection` when not 0 (failing if
        /// it closed), else on a connection to `peer.address` (opened when there is none).
        case send = 2
        /// Close connection `peer.connection` (tcp_close_connection).
        case close = 3
        /// Make connection `peer.connection` also serve port `peer.address.port` of its
        /// peer's address (force_tcp_alias, a Via `;alias`).
        case alias = 4
        /// Turn TCP keepalive on for `peer.connection`: bytes = idle, interval, count
        /// (three little-endian UInt32).
        case keepalive = 5
        /// Turn TCP keepalive off for `peer.connection`.
        case keepaliveOff = 6
        /// `peer.connection` closes after this many seconds without traffic instead of
        /// `tcp_connection_lifetime`: bytes = one little-endian UInt32.
        case lifetime = 7
        /// Raise the `tcp:closed` event for `peer.connection` even when tcpops'
        /// `closed_event` is 2 (tcp_enable_closed_event).
        case enableClosedEvent = 8
        /// For a tcp receiver: connection `peer.connection` has closed; bytes = one byte,
        /// the `TCPClosedEvent` (which event route runs).
        case closed = 9
        /// For a tcp receiver: these bytes (a request we relayed) never went out, because
        /// the connection to their destination could not be opened; tm ends their branch
        /// as if it got a 503 (RFC 3261 §16.9).
        case sendFailed = 10
        /// For a tcp receiver (only when xhttp is loaded): a whole HTTP request read from
        /// connection `peer.connection`: its head, then its body (a chunked one decoded).
        case http = 11
        /// Close connection `peer.connection` once the bytes queued on it are written
        /// (set_reply_close, an HTTP reply that ends its connection).
        case closeAfterOutput = 12
        /// From a tcp receiver: it finished the HTTP request it had from connection
        /// `peer.connection` (its reply, if any, is queued before this): the next one may go.
        case httpDone = 13
    }

    var operation: Operation
    var peer: SIPPeer
    var bytes: ArraySlice<UInt8>

    static let headerBytes = 4 + MemoryLayout<cs_peer>.size

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerBytes + bytes.count)
        withUnsafeBytes(of: operation.rawValue.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: peer.raw) { out.append(contentsOf: $0) }
        out.append(contentsOf: bytes)
        return out
    }

    /// nil for a payload this codec did not write.
    init?(decoding payload: [UInt8]) {
        guard payload.count >= Self.headerBytes else { return nil }
        let (op, raw) = payload.withUnsafeBytes {
            (UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)), $0.loadUnaligned(fromByteOffset: 4, as: cs_peer.self))
        }
        guard let operation = Operation(rawValue: op), let peer = SIPPeer(raw) else { return nil }
        self.operation = operation
        self.peer = peer
        bytes = payload[Self.headerBytes...]
    }

    init(_ operation: Operation, peer: SIPPeer, bytes: ArraySlice<UInt8> = []) {
        self.operation = operation
        self.peer = peer
        self.bytes = bytes
    }
}

/// Why a connection closed, as tcpops' event routes name it.
enum TCPClosedEvent: UInt8 {
    /// The peer closed it (EOF): `event_route[tcp:closed]`.
    case closed = 0
    /// It was idle past its lifetime, or a message did not finish in time: `tcp:timeout`.
    case timeout = 1
    /// The peer reset it: `tcp:reset`.
    case reset = 2

    var routeName: String {
        switch self {
        case .closed: return "tcp:closed"
        case .timeout: return "tcp:timeout"
        case .reset: return "tcp:reset"
        }
    }
}

/// Every process's way to the TCP transport: it checks a connection in the arena table
/// before it queues bytes for it, and hands the bytes to the tcp main through "tcp-out".
struct TCPSender {
    let table: TCPConnectionTable
    let queue: TaskQueueRef
    let doorbell: EventDoorbell
    let arena: ArenaRef

    /// Queues `bytes` for `peer`. False, logged, when the connection the peer names has
    /// closed (or now belongs to another peer: its slot was reused), or the queue is full.
    func send(_ bytes: [UInt8], to peer: SIPPeer, log: ServerLog) -> Bool {
        if peer.connection != 0 {
            guard table.leads(peer.connection, toHostOf: peer.address) else {
                table.countSendFailed()
                log.error("tcp", "cannot send \(bytes.count) bytes to \(peer): the connection is closed")
                return false
            }
        }
        return request(TCPEnvelope(.send, peer: peer, bytes: bytes[...]), log: log)
    }

    /// Queues a request for the tcp main; false, logged, when the queue is full or the
    /// arena has no room.
    func request(_ envelope: TCPEnvelope, log: ServerLog) -> Bool {
        switch queue.push(.tcp(payload: envelope.encoded()), arena: arena, nonblocking: true) {
        case .queued:
            doorbell.ring()
            return true
        case .full:
            table.countQueueFull()
            log.error("tcp", "the tcp main's queue is full: \(envelope.operation) for \(envelope.peer) dropped")
            return false
        case .noMemory:
            log.error("tcp", "no shared memory to queue \(envelope.bytes.count) bytes for \(envelope.peer)")
            return false
        }
    }
}
