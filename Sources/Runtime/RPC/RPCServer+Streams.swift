import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One accepted binrpc connection (unix stream or TCP): what arrived and is not yet a whole
/// packet, and what is not yet written back. A class, so that its buffers change in place.
final class RPCConnection {
    var input: [UInt8] = []
    var output: [UInt8] = []
    var lastActivityMs: UInt64
    let endpoint: String
    /// Close once `output` is written (after refusing a request it cannot read on).
    var closeWhenFlushed = false

    init(lastActivityMs: UInt64, endpoint: String) {
        self.lastActivityMs = lastActivityMs
        self.endpoint = endpoint
    }
}

extension RPCServer {
    mutating func acceptAll(_ endpoint: RPCEndpoint) {
        while true {
            var length: UInt32 = 0
            let fd = cs_accept(endpoint.descriptor, nil, &length)
            if fd < 0 { return }
            if connections.count >= RPCServer.maxConnections {
                log(.warning, "\(endpoint.name): \(RPCServer.maxConnections) connections are open; closed a new one")
                Posix.close(fd)
                continue
            }
            connections[fd] = RPCConnection(lastActivityMs: cs_now_ms(), endpoint: endpoint.name)
        }
    }

    mutating func readConnection(_ fd: Int32, _ buffer: inout [UInt8]) {
        guard let c = connections[fd] else { return }
        while true {
            let result = buffer.withUnsafeMutableBytes { StreamSocket.read(fd, into: $0) }
            switch result {
            case .bytes(let n):
                c.input += buffer[0..<n]
                c.lastActivityMs = cs_now_ms()
                guard serveInput(fd) else { return }
                // A short read took all there was: poll says when more comes, without a
                // read that would only find nothing.
                if n < buffer.count { return }
            case .wouldBlock:
                return
            case .closed:
                if !c.input.isEmpty {
                    log(.warning, "\(c.endpoint): a client left in the middle of a request (\(c.input.count) bytes)")
                }
                close(fd)
                return
            case .failed(let e):
                log(.info, "\(c.endpoint): read failed (\(String(cString: strerror(e)))); closing")
                close(fd)
                return
            }
        }
    }

    /// Answers every whole packet in the connection's input. False when the connection is
    /// closed or will close (stop reading it).
    private mutating func serveInput(_ fd: Int32) -> Bool {
        while let c = connections[fd], !c.closeWhenFlushed {
            switch BinRPC.scanHeader(c.input) {
            case .needMore:
                return true
            case .invalid(let why):
                log(.warning, "\(c.endpoint): \(why); closing the connection")
                close(fd)
                return false
            case .header(let header):
                if header.bodyLength > binrpcMaxRequest {
                    log(.warning, "\(c.endpoint): a request of \(header.bodyLength) bytes is over the \(binrpcMaxRequest)-byte limit (binrpc_buffer_size); closing")
                    c.output += BinRPC.fault(RPCFault(400, "request too large (\(header.bodyLength) bytes, limit \(binrpcMaxRequest))"), cookie: header.cookie)
                    c.closeWhenFlushed = true
                    c.input = []
                    flush(fd)
                    return false
                }
                guard c.input.count >= header.packetLength else { return true }
                let body = c.input[header.headerLength..<header.packetLength]
                if let reply = answerBinRPC(header, body: body, from: c.endpoint) { c.output += reply }
                if header.packetLength == c.input.count { c.input.removeAll(keepingCapacity: true) } else { c.input.removeFirst(header.packetLength) }
                flush(fd)
            }
        }
        return connections[fd] != nil
    }

    /// Writes what the socket takes now; the rest waits for POLLOUT.
    mutating func flush(_ fd: Int32) {
        guard let c = connections[fd] else { return }
        while !c.output.isEmpty {
            let n = c.output.withUnsafeBytes { cs_stream_send(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                if n == c.output.count { c.output.removeAll(keepingCapacity: true) } else { c.output.removeFirst(n) }
                c.lastActivityMs = cs_now_ms()
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            log(.info, "\(c.endpoint): the client left before its reply was written (\(c.output.count) bytes not sent)")
            close(fd)
            return
        }
        if c.output.isEmpty && c.closeWhenFlushed { close(fd) }
    }

    mutating func closeIdleConnections() {
        let now = cs_now_ms()
        for (fd, c) in connections where now > c.lastActivityMs + RPCServer.idleSeconds * 1000 {
            log(.info, "\(c.endpoint): closed a connection idle for \(RPCServer.idleSeconds) s\(c.input.isEmpty ? "" : " in the middle of a request")")
            close(fd)
        }
    }

    mutating func close(_ fd: Int32) {
        connections[fd] = nil
        Posix.close(fd)
    }

    // MARK: FIFO

    /// Reads jsonrpcs's FIFO: documents follow one another; each complete one is answered
    /// into the FIFO its `reply_name` names, under `fifo_reply_dir`.
    mutating func readFIFO(_ endpoint: RPCEndpoint, _ buffer: inout [UInt8]) {
        let fd = endpoint.descriptor
        while case .bytes(let n) = buffer.withUnsafeMutableBytes({ StreamSocket.read(fd, into: $0) }) {
            fifoInput[fd, default: []] += buffer[0..<n]
        }
        var pending = fifoInput[fd] ?? []
        while let end = JSONDocumentScanner.end(of: pending) {
            let text = String(decoding: pending[0..<end], as: UTF8.self)
            pending.removeFirst(end)
            reply(fifo: JSONRPCDispatch(methods: methods, process: process, pretty: jsonPretty).answer(text, from: endpoint.name),
                  endpoint: endpoint)
        }
        if pending.count > RPCServer.maxFIFODocument {
            log(.warning, "\(endpoint.name): dropped \(pending.count) bytes that never made a whole JSON document")
            pending = []
        }
        // Blanks between documents are not the start of one.
        fifoInput[fd] = pending.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } ? [] : pending
    }

    private func reply(fifo answer: JSONRPCDispatch.Answer, endpoint: RPCEndpoint) {
        guard let text = answer.text else { return }
        guard let name = answer.replyName, !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
            log(.warning, "\(endpoint.name): a request without a usable reply_name (a file name under \(fifoReplyDirectory)); not answered")
            return
        }
        let path = fifoReplyDirectory.hasSuffix("/") ? fifoReplyDirectory + name : fifoReplyDirectory + "/" + name
        let fd = cs_fifo_open_reply(path)
        guard fd >= 0 else {
            log(.warning, "\(endpoint.name): cannot open the reply FIFO \(path) (\(String(cString: strerror(errno))))")
            return
        }
        defer { Posix.close(fd) }
        let bytes = Array((text + "\n").utf8)
        var written = 0
        let deadline = cs_now_ms() + 1000
        while written < bytes.count && cs_now_ms() < deadline {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { written += n } else if errno == EAGAIN { usleep(1000) } else { break }
        }
        if written < bytes.count { log(.warning, "\(endpoint.name): the reply FIFO \(path) took \(written) of \(bytes.count) bytes") }
    }
}

/// Finds where the first JSON document of a byte stream ends, by counting brackets outside
/// strings: the FIFO carries documents back to back with no other framing.
enum JSONDocumentScanner {
    /// The index after the first complete top-level object or array, or nil when it is
    /// not complete yet. Leading blanks belong to it.
    static func end(of bytes: [UInt8]) -> Int? {
        var depth = 0, inString = false, escaped = false, started = false
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x7B, 0x5B: depth += 1; started = true
            case 0x7D, 0x5D:
                depth -= 1
                if depth <= 0 && started { return i + 1 }
            case 0x20, 0x0A, 0x0D, 0x09: break
            default: if !started { return i + 1 }  // not JSON: hand it over to be refused
            }
        }
        return nil
    }
}
