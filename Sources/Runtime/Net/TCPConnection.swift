import CShared
import Shared

/// What the tcp main keeps for one connection besides its arena slot: the descriptor, the
/// bytes read and not yet framed, the bytes waiting to be written, and its clocks.
final class TCPConnection {
    let fd: Int32
    let slot: UnsafeMutablePointer<cs_tcp_conn>
    let peer: SIPPeer
    var input: [UInt8] = []
    var output: [UInt8] = []
    var connecting = false
    var connectDeadlineMs: UInt64 = 0
    var lastActivityMs: UInt64
    /// When the first byte of the message being read arrived (nil: between messages).
    var messageStartedMs: UInt64?
    /// When the output queue last stopped draining (nil: empty).
    var outputSince: UInt64?
    /// The epoll bits registered.
    var watched: UInt32 = 0
    /// tcp_set_connection_lifetime's value, instead of tcp_connection_lifetime.
    var lifetimeMs: UInt64?
    /// Other addresses (the peer's IP at other ports) it serves: force_tcp_alias.
    var aliases: [SocketAddress] = []
    /// What was queued while an outgoing connection was being opened, message by message:
    /// told back to tm if the connection never opens.
    var queuedWhileConnecting: [ArraySlice<UInt8>] = []
    /// tcp_enable_closed_event was called for it (closed_event=2).
    var wantsClosedEvent = false
    /// Close once `output` is written (closeAfterOutput).
    var closeWhenWritten = false
    /// An HTTP request of this connection is with a tcp receiver: the next one waits for
    /// its `.httpDone`, so that pipelined requests are answered in order (RFC 9112 §9.3.2).
    var httpInFlight = false

    init(fd: Int32, slot: UnsafeMutablePointer<cs_tcp_conn>, peer: SIPPeer, nowMs: UInt64) {
        self.fd = fd
        self.slot = slot
        self.peer = peer
        lastActivityMs = nowMs
    }
}
