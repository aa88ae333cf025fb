import SIP
import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Core functions the script calls without loading a module (`forward`, `sleep`,
/// `usleep`), and cfgutils, the module Kamailio keeps `sleep`/`usleep` in.
enum CoreModule {
    static func register(_ r: inout ScriptRegistry) {
        r.register(coreFunction: forward)
        r.register(coreFunction: sleep)
        r.register(coreFunction: usleepFunction)
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
            return -1
        }
        do {
            try m.buildForward(to: destination)
        } catch {
            m.process.log.error("core", "forward: \(error)")
            return -1
        }
        guard m.process.send(m.process.outBuffer.bytes, to: destination) else { return -1 }
        m.process.count(.forwarded)
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
    /// Relays a reply statelessly: when the top Via is ours, drop it and send the reply to
    /// the next Via (its received/rport, else its sent-by).
    func forwardReply() -> Bool {
        let vias = message.vias
        guard vias.count >= 2, process.isLocal(host: vias[0].host, port: vias[0].port) else { return false }
        let next = vias[1]
        var host = next.received ?? next.host
        host = host.trimmingCharacters(in: "[]")
        var port = next.port ?? 5060
        if case .value(let p) = next.rport { port = p }
        let transport = SIPTransport(name: next.transport) ?? .udp
        guard let address = SocketAddress.resolve(host: host, port: port),
              let out = process.outputSocket(transport, family: address.family, preferring: socket.index) else {
            return false
        }
        let destination = SIPPeer(transport: transport, address: address, socketIndex: out.index)
        guard process.send(Self.removingTopVia(message), to: destination) else { return false }
        process.count(.forwarded)
        return true
    }
}
