import CShared
import Shared

/// The tcp main's HTTP side, when the config loads xhttp: a request that starts with an
/// HTTP/1.x request line is framed by `HTTPFraming` and handed to the tcp receivers as
/// `.http`, which run `event_route[xhttp:request]`; the reply comes back through "tcp-out"
/// like a SIP reply.
extension TCPMain {
    /// Frames one HTTP request at `consumed` in the connection's input. Nil when the input
    /// there is not HTTP (the SIP framing takes it); true when a request was handed on (and
    /// `consumed` moved past it); false when more bytes are needed or the connection was
    /// closed.
    mutating func frameHTTP(_ c: TCPConnection, _ consumed: inout Int) -> Bool? {
        let start = consumed
        // One request at a time per connection: the next waits in the input.
        if c.httpInFlight { return false }
        let frame = c.input.withUnsafeBytes {
            HTTPFraming.next(UnsafeRawBufferPointer(rebasing: $0[start...]), maxBodyBytes: TCPSettings.maxMessageBytes)
        }
        switch frame {
        case .notHTTP:
            return nil
        case .incomplete:
            return false
        case .continueExpected:
            queueOutput(c, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)[...])
            return false
        case .request(let length, let headLength, let decodedBody):
            let bytes = decodedBody.map { Array(c.input[start..<(start + headLength)]) + $0 }
                ?? Array(c.input[start..<(start + length)])
            consumed += length
            c.slot.pointee.msgs_in += 1
            table.raw.pointee.msgs_in += 1
            c.httpInFlight = true
            deliver(TCPEnvelope(.http, peer: c.peer, bytes: bytes[...]))
            return true
        case .bad(let reason):
            consumed = c.input.count
            close(c, reason: reason, counter: \.closed_bad_input)
            return false
        }
    }

    /// A tcp receiver finished an HTTP request of `c`: frame what waited behind it.
    mutating func httpDone(_ c: TCPConnection) {
        c.httpInFlight = false
        if !c.input.isEmpty { frameMessages(c) }
    }

    /// Closes a connection whose last reply asked for it (set_reply_close, an HTTP reply
    /// with `Connection: close`), once that reply is written.
    mutating func closeAfterReply(_ c: TCPConnection) {
        process.log.debug("tcp", "connection #\(c.peer.connection) with \(c.peer.address) closed after its reply")
        close(c, reason: nil, counter: \.closed_by_script)
    }
}
