import Script
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One management process the master starts, with the endpoints it serves.
struct RPCProcessSpec {
    let description: String
    let endpoints: [RPCEndpoint]
    let binrpcMaxRequest: Int
    let jsonPretty: Bool
    let fifoReplyDirectory: String
}

extension RPCConfig {
    /// Binds every management endpoint (the master, before fork) and groups them into
    /// processes as Kamailio names them: `ctl handler`, `JSONRPCS FIFO`, `JSONRPCS DATAGRAM`.
    /// A socket that cannot be bound stops the start, as in Kamailio.
    func bindProcesses() throws(SystemCallError) -> [RPCProcessSpec] {
        var out: [RPCProcessSpec] = []
        let pretty = jsonrpcs?.pretty ?? true
        let replyDirectory = jsonrpcs?.fifoReplyDirectory ?? "/tmp/"
        if !ctl.isEmpty {
            var endpoints: [RPCEndpoint] = []
            for a in ctl { endpoints.append(try RPCEndpoint.bind(a, encoding: .binrpc, mode: ctlMode)) }
            out.append(RPCProcessSpec(description: "ctl handler", endpoints: endpoints, binrpcMaxRequest: binrpcMaxRequest,
                                      jsonPretty: pretty, fifoReplyDirectory: replyDirectory))
        }
        if let j = jsonrpcs {
            if j.fifoEnabled {
                out.append(RPCProcessSpec(description: "JSONRPCS FIFO", endpoints: [try RPCEndpoint.fifo(j.fifoPath, mode: j.fifoMode)],
                                          binrpcMaxRequest: binrpcMaxRequest, jsonPretty: pretty, fifoReplyDirectory: replyDirectory))
            }
            if j.datagramEnabled, let address = j.datagram {
                // One socket, read by every datagram worker (each datagram goes to one of them).
                let endpoint = try RPCEndpoint.bind(address, encoding: .jsonrpc, mode: j.datagramMode)
                for _ in 0..<j.datagramWorkers {
                    out.append(RPCProcessSpec(description: "JSONRPCS DATAGRAM", endpoints: [endpoint], binrpcMaxRequest: binrpcMaxRequest,
                                              jsonPretty: pretty, fifoReplyDirectory: replyDirectory))
                }
            }
        }
        return out
    }
}

extension RPCProcessSpec {
    /// The process's body (after fork).
    func run(_ process: ProcessContext) -> Never {
        var server = RPCServer(process: process, methods: process.rpcMethods, endpoints: endpoints,
                               binrpcMaxRequest: binrpcMaxRequest, jsonPretty: jsonPretty, fifoReplyDirectory: fifoReplyDirectory)
        server.run()
    }
}
