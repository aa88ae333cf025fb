import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A management process: Kamailio's `ctl handler`, `JSONRPCS FIFO` or `JSONRPCS DATAGRAM`.
/// It serves its endpoints with poll(2) and non-blocking descriptors only, so one slow or
/// silent client never holds up another, and it runs no SIP: RPCs never wait for a
/// receiver nor a receiver for an RPC. Methods read and change the arena directly.
struct RPCServer {
    let process: ProcessContext
    let methods: RPCMethodTable
    let endpoints: [RPCEndpoint]
    let binrpcMaxRequest: Int
    let jsonPretty: Bool
    let fifoReplyDirectory: String
    /// Open stream connections by descriptor.
    var connections: [Int32: RPCConnection] = [:]
    /// What a FIFO endpoint has read of a document not yet complete.
    var fifoInput: [Int32: [UInt8]] = [:]

    /// Connections one process keeps at once; another is accepted and closed at once.
    static let maxConnections = 64
    /// A connection with nothing to do for this long is closed.
    static let idleSeconds: UInt64 = 10
    /// A FIFO document larger than this is dropped.
    static let maxFIFODocument = 1 << 20

    func log(_ level: LogLevel, _ text: String) { process.log.write(level, "rpc", text) }

    /// How much lower than the SIP processes a management process is scheduled (nice):
    /// on a busy machine a client hammering RPCs takes CPU from itself, not from calls.
    static let niceness: Int32 = 5

    mutating func run() -> Never {
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, RPCServer.niceness) != 0 {
            log(.info, "cannot lower the management process's priority (errno \(errno)); it runs at the receivers' priority")
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var fds = endpoints.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let connectionFDs = Array(connections.keys)
            for fd in connectionFDs {
                let wantsWrite = !(connections[fd]!.output.isEmpty)
                fds.append(pollfd(fd: fd, events: Int16(wantsWrite ? POLLIN | POLLOUT : POLLIN), revents: 0))
            }
            let n = poll(&fds, nfds_t(fds.count), 1000)
            if n < 0 && errno != EINTR {
                log(.error, "poll failed: errno \(errno)")
                usleep(100_000)
                continue
            }
            for (i, endpoint) in endpoints.enumerated() where fds[i].revents != 0 {
                switch endpoint.kind {
                case .stream: acceptAll(endpoint)
                case .datagram: serveDatagrams(endpoint, &buffer)
                case .fifo: readFIFO(endpoint, &buffer)
                }
            }
            for (j, fd) in connectionFDs.enumerated() {
                let revents = Int32(fds[endpoints.count + j].revents)
                if revents & Int32(POLLOUT) != 0 { flush(fd) }
                if revents & Int32(POLLIN | POLLHUP | POLLERR) != 0 { readConnection(fd, &buffer) }
            }
            closeIdleConnections()
        }
    }

    // MARK: datagrams

    private mutating func serveDatagrams(_ endpoint: RPCEndpoint, _ buffer: inout [UInt8]) {
        for _ in 0..<64 {
            var from = cs_any_addr()
            let n = buffer.withUnsafeMutableBytes { cs_dgram_receive(endpoint.descriptor, $0.baseAddress, $0.count, &from) }
            guard n > 0 else { return }
            let request = Array(buffer[0..<n])
            let reply: [UInt8]?
            switch endpoint.encoding {
            case .binrpc: reply = answerBinRPC(datagram: request, from: endpoint.name)
            case .jsonrpc: reply = answerJSON(String(decoding: request, as: UTF8.self), from: endpoint.name).map { Array($0.utf8) }
            }
            guard let reply, from.length > 0 else { continue }
            let sent = reply.withUnsafeBytes { cs_dgram_send(endpoint.descriptor, $0.baseAddress, $0.count, &from) }
            if sent < 0 { log(.warning, "\(endpoint.name): cannot send the reply (\(String(cString: strerror(errno))))") }
        }
    }

    /// One binrpc request in one datagram: the reply, or nil when the datagram is dropped.
    private func answerBinRPC(datagram: [UInt8], from source: String) -> [UInt8]? {
        guard case .header(let header) = BinRPC.scanHeader(datagram), header.packetLength <= datagram.count else {
            log(.warning, "\(source): dropped a datagram that is not a whole binrpc packet (\(datagram.count) bytes)")
            return nil
        }
        return answerBinRPC(header, body: datagram[header.headerLength..<header.packetLength], from: source)
    }

    /// Answers one binrpc packet: a reply or a fault, never nothing for a request.
    func answerBinRPC(_ header: BinRPC.Header, body: ArraySlice<UInt8>, from source: String) -> [UInt8]? {
        guard header.type == .request else {
            log(.warning, "\(source): ignored a binrpc packet that is not a request")
            return nil
        }
        let request: BinRPC.Request
        do { request = try BinRPC.decodeRequest(body) } catch {
            log(.warning, "\(source): \(error.description)")
            return BinRPC.fault(RPCFault(400, "bad request: \(error.description)"), cookie: header.cookie)
        }
        switch methods.call(request.method, params: request.params, process: process) {
        case .success(let reply): return BinRPC.reply(reply.values, cookie: header.cookie)
        case .failure(let fault):
            log(.info, "\(source): \(request.method): \(fault.code) \(fault.message)")
            return BinRPC.fault(fault, cookie: header.cookie)
        }
    }

    /// Answers a JSON-RPC document: the response text, or nil when nothing is due
    /// (notifications only).
    func answerJSON(_ text: String, from source: String) -> String? {
        JSONRPCDispatch(methods: methods, process: process, pretty: jsonPretty).answer(text, from: source).text
    }
}
