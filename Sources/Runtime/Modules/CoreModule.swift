import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Core functions the script calls without loading a module (`forward`, `sleep`,
/// `usleep`, `log`), and cfgutils, the module Kamailio keeps `sleep`/`usleep` in.
enum CoreModule {
    static func register(_ r: inout ScriptRegistry) {
        r.register(coreFunction: forward)
        r.register(coreFunction: sleep)
        r.register(coreFunction: usleepFunction)
        r.register(coreFunction: forceTCPAlias)
        r.register(coreFunction: CoreLogFunction.spec)
        CoreURIFunctions.register(&r)
    }

    /// `force_tcp_alias([port])`: the connection this request came on also serves its
    /// sender's address at `port` (default: the top Via's port), so that requests routed to
    /// that address, as a registered Contact names it, reuse the connection (RFC 5923's
    /// aim). False on UDP or when the connection is gone.
    static let forceTCPAlias = FunctionSpec("force_tcp_alias", args: [.int], minArgs: 0, allowedRoutes: [.request]) { ctx, args in
        let m = ctx.message
        let port = args.count > 0 ? args.int(0, &ctx) : m.message.topVia.port ?? 5060
        return m.addTCPAlias(port: port) ? 1 : -1
    }

    static var cfgutils: ModuleSpec { ModuleSpec(name: "cfgutils", functions: [sleep, usleepFunction]) }

    /// `forward()`, `forward(host)`, `forward(host, port)`: stateless relay of a request
    /// (or of a reply, along its Via).
    static let forward = FunctionSpec("forward", args: [.string, .int], minArgs: 0,
                                      allowedRoutes: [.request, .failure, .reply, .onreply, .branch]) { ctx, args in
        let m = ctx.message
        if !m.message.isRequest { return m.forwardReply() ? 1 : -1 }
        let host = args.count > 0 ? args.string(0, &ctx) : nil
        let port = args.count > 1 ? args.int(1, &ctx) : nil
        guard let destination = m.nextHop(overrideHost: host, overridePort: port) else {
            m.process.log.error("core", "forward: cannot resolve the destination of \(m.requestURI)")
            m.record(m.noNextHopError(overrideHost: host, overridePort: port), ctx)
            m.process.stats.count(.errRequests)
            return -1
        }
        guard m.forwardMayConnect(destination) else { return -1 }
        do {
            try m.buildForward(to: destination)
        } catch {
            m.process.log.error("core", "forward: \(error)")
            m.process.stats.count(.errRequests)
            return -1
        }
        guard m.process.send(m.process.outBuffer.bytes, to: destination) else {
            m.process.stats.count(.errRequests)
            return -1
        }
        m.process.count(.forwarded)
        m.process.stats.count(.fwdRequests)
        return 1
    }

    /// Blocking sleeps: the process does nothing else meanwhile (as in Kamailio).
    static let sleep = FunctionSpec("sleep", args: [.int]) { ctx, args in
        guard let s = args.int(0, &ctx), s >= 0 else { return -1 }
        Glibc.sleep(UInt32(s))
        return 1
    }

    static let usleepFunction = FunctionSpec("usleep", args: [.int]) { ctx, args in
        guard let us = args.int(0, &ctx), us >= 0 else { return -1 }
        Glibc.usleep(UInt32(clamping: us))
        return 1
    }
}

extension MessageContext {
    /// Asks the tcp main to make this message's connection serve `port` of its peer's
    /// address too. False on UDP, for a bad port, or when the connection is gone.
    func addTCPAlias(port: Int?) -> Bool {
        guard peer.transport == .tcp, let port, (1...65535).contains(port), let tcp = process.tcp,
              tcp.table.connection(peer.connection) != nil else { return false }
        var alias = peer
        alias.address = source.withPort(UInt16(port))
        return tcp.request(TCPEnvelope(.alias, peer: alias), log: process.log)
    }

    /// Relays a reply statelessly: when the top Via is ours, drop it and send the reply to
    /// the next Via (its received/rport, else its sent-by).
    func forwardReply() -> Bool {
        let vias = message.vias
        // Not ours, or no Via to send it to: dropped and counted nowhere, as in Kamailio.
        guard vias.count >= 2, process.isLocal(host: vias[0].host, port: vias[0].port) else { return false }
        let next = vias[1]
        var host = next.received ?? next.host
        host = host.trimmingCharacters(in: "[]")
        var port = next.port ?? 5060
        if case .value(let p) = next.rport { port = p }
        let transport = SIPTransport(name: next.transport) ?? .udp
        guard let address = SocketAddress.resolve(host: host, port: port),
              let out = process.outputSocket(transport, family: address.family, preferring: socket.index) else {
            process.stats.count(.errReplies)
            return false
        }
        let destination = SIPPeer(transport: transport, address: address, socketIndex: out.index)
        guard process.send(Self.removingTopVia(message), to: destination) else {
            process.stats.count(.errReplies)
            return false
        }
        process.count(.forwarded)
        process.stats.count(.fwdReplies)
        return true
    }
}
