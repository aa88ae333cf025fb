import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A receiver: runs the script for each message that arrives. A UDP receiver reads
/// datagrams from one listen socket (shared with the other receivers of that socket); a
/// tcp receiver takes the messages the tcp main framed from the "tcp" queue.
struct Receiver {
    let process: ProcessContext
    var exec: ExecContext
    /// Bounds the lines about malformed messages (each one is still counted).
    var malformedLog = LogRateLimiter()
    /// Whether `log_prefix` reads only what a message cannot change (known after the first).
    var logPrefixIsFixedPerMessage: Bool?

    init(process: ProcessContext) {
        self.process = process
        self.exec = process.makeExecContext()
    }

    /// Serves messages over TCP until the process is told to stop.
    mutating func run(tcp queue: TaskQueueRef) -> Never {
        while true {
            let taken = queue.take(arena: process.arena, timeoutNanoseconds: malformedLog.summaryDueNs == nil ? -1 : 1_000_000_000)
            if let due = malformedLog.summaryDueNs, MonotonicClock.nowNs >= due {
                writeMalformedSummary(malformedLog.closeWindow(nowNs: MonotonicClock.nowNs))
            }
            guard case .task(.tcp(let payload)) = taken else { continue }
            guard let envelope = TCPEnvelope(decoding: payload),
                  [.message, .closed, .sendFailed, .http].contains(envelope.operation) else {
                process.log.error("tcp", "a malformed message in the tcp queue (dropped)")
                continue
            }
            if envelope.operation == .closed {
                raiseClosedEvent(envelope)
            } else if envelope.operation == .sendFailed {
                MessageContext.branchNotSent(Array(envelope.bytes), to: envelope.peer, process: process, &exec)
            } else if envelope.operation == .http {
                handleHTTP(Array(envelope.bytes), from: envelope.peer)
            } else {
                handle(Array(envelope.bytes), from: envelope.peer)
            }
        }
    }

    /// tcpops' `event_route[tcp:closed]` (or `tcp:timeout`, `tcp:reset`) for a connection
    /// the tcp main closed: it runs on a local request whose `$si`, `$sp`, `$proto` and
    /// `$conid` are the connection's.
    mutating func raiseClosedEvent(_ envelope: TCPEnvelope) {
        guard let byte = envelope.bytes.first, let event = TCPClosedEvent(rawValue: byte),
              let route = process.program.routeIndex(event.routeName, in: .event),
              let message = try? SIPMessage.parse(Array(FakedRequest.text("tcp-\(getpid())-\(envelope.peer.connection)").utf8))
        else { return }
        let context = MessageContext(process: process, message: message, peer: envelope.peer)
        exec.host = context
        exec.flags = 0
        exec.routeType = .event
        _ = process.program.run(route: route, as: .event, &exec)
        context.releaseUnfinishedTransaction()
        context.releaseTransactions()
        exec.host = nil
    }

    /// Serves datagrams of `udp` until the process is told to stop (SIGTERM ends it by
    /// default action).
    mutating func run(udp local: LocalSocket) -> Never {
        let socket = local.udp!
        let peer = SIPPeer(transport: .udp, address: local.address, socketIndex: local.index)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        while true {
            // A window that held lines back ends with its summary, even if nothing more
            // arrives: wait for a datagram only until the summary is due, and then read
            // without waiting (the receivers of a socket all wake for one datagram, and
            // a blocking read that lost it could sleep past the summary for good).
            var waiting = true
            if let due = malformedLog.summaryDueNs {
                if MonotonicClock.nowNs >= due || (try? socket.socket.waitReadable(until: due)) != true {
                    writeMalformedSummary(malformedLog.closeWindow(nowNs: MonotonicClock.nowNs))
                    continue
                }
                waiting = false
            }
            guard let (count, from) = socket.receive(into: scratch, waiting: waiting) else { continue }
            var source = peer
            source.address = from
            handle(Array(scratch[0..<count]), from: source)
        }
    }

    /// `log_prefix` for the message: made when a line is first logged for it when what it
    /// reads cannot change meanwhile (the stock one: `$mt $hdr(CSeq) $ci`), else now, as
    /// Kamailio makes it, with the values its variables have when the message arrives.
    private mutating func setLogPrefix(_ prefix: MessagePrefix, _ format: CompiledFormat, for context: MessageContext) {
        let fixed = logPrefixIsFixedPerMessage ?? format.isFixedPerMessage
        logPrefixIsFixedPerMessage = fixed
        guard fixed else {
            prefix.set(process.program.format(format, &exec))
            return
        }
        let process = process
        prefix.setLazily {
            var exec = process.makeExecContext()
            exec.host = context
            return process.program.format(format, &exec)
        }
    }

    mutating func handle(_ bytes: [UInt8], from source: SIPPeer) {
        let message: SIPMessage
        do {
            message = try SIPMessage.parse(bytes)
        } catch {
            reject(error, bytes: bytes, from: source)
            return
        }
        let context = MessageContext(process: process, message: message, peer: source)
        exec.host = context
        exec.flags = 0
        if let prefix = process.log.messagePrefix, let format = process.program.settings.formats["core.log_prefix"] {
            setLogPrefix(prefix, format, for: context)
        }
        defer { process.log.messagePrefix?.set("") }
        if message.isRequest {
            process.count(.requests)
            process.stats.requestReceived(message.method)
            // RFC 5923: a Via `;alias` asks that the connection serve the Via's port too.
            if source.transport == .tcp, process.settings.tcp.acceptAliases, message.topVia.params.contains("alias") {
                _ = context.addTCPAlias(port: message.topVia.port ?? 5060)
            }
            if let route = process.program.requestRoute {
                exec.routeType = .request
                _ = process.program.run(route: route, as: .request, &exec)
            }
        } else {
            process.count(.repliesIn)
            process.stats.replyReceived(status: message.statusCode, cseqMethod: message.cseq.method)
            handleReply(context)
        }
        context.releaseUnfinishedTransaction()
        context.releaseTransactions()
        exec.host = nil
    }

    /// Replies with no transaction: the core `reply_route` may drop them; the rest are
    /// relayed statelessly along their Via.
    mutating func handleReply(_ context: MessageContext) {
        // A reply to a request tm relayed carries our branch id in its top Via.
        if process.tm != nil, process.isLocal(host: context.message.topVia.host, port: context.message.topVia.port),
           context.handleBranchReply(&exec) {
            return
        }
        if let route = process.program.replyRoute {
            exec.routeType = .reply
            if case .drop = process.program.run(route: route, as: .reply, &exec) {
                process.stats.count(.dropReplies)
                return
            }
            if !context.applyPendingChanges() {
                process.log.error("core", "the edits of reply_route do not leave a reply that parses; forwarded without them")
            }
        }
        if !context.forwardReply() {
            process.log.debug("core", "reply \(context.message.statusCode) for \(context.message.callID) matches nothing here; dropped")
        }
    }

    /// A datagram that did not parse: answered 400/505 when it is a request whose Via,
    /// From, To, Call-ID and CSeq parsed, otherwise dropped. Each is counted
    /// (`parseErrors`, and `dropped`); its log line is written within `malformedLog`'s
    /// limit, and counted in `logSuppressed` and the next summary line beyond it.
    mutating func reject(_ error: SIPParseError, bytes: [UInt8], from source: SIPPeer) {
        process.count(.parseErrors)
        process.stats.parseFailed(error, isReply: bytes.starts(with: Array("SIP/".utf8)))
        var answered: Int?
        if let partial = error.partial, partial.isRequest {
            let context = MessageContext(process: process, message: partial, peer: source)
            let reason = error.replyStatus == 505 ? "Version Not Supported" : "Bad Request - \(error.replyReason)"
            context.sendReply(error.replyStatus, reason)
            answered = error.replyStatus
        } else {
            process.count(.dropped)
        }
        guard process.log.enabled(.notice) else { return }
        let verdict = malformedLog.admit(source.address, nowNs: MonotonicClock.nowNs)
        writeMalformedSummary(verdict.summary)
        guard verdict.write else {
            process.count(.logSuppressed)
            return
        }
        if let answered {
            process.log.notice("core", "malformed request from \(source.address) answered \(answered): \(error)")
        } else {
            process.log.notice("core", "malformed message from \(source.address) (\(bytes.count) bytes) dropped: \(error)")
        }
    }

    /// Writes the rate limit's summary of a closed window, if it has one.
    func writeMalformedSummary(_ summary: String?) {
        guard let summary else { return }
        process.log.notice("core", "malformed messages: \(summary); parse_errors and log_suppressed count them all")
    }
}

extension LogLevel {
    init(scriptLevel: ScriptLogLevel) {
        switch scriptLevel {
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        case .alert: self = .alert
        }
    }
}
