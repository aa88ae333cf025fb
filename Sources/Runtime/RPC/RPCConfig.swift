import Script
import Shared

/// The management interfaces a config asks for: ctl's binrpc sockets and jsonrpcs's FIFO,
/// datagram socket and HTTP dispatch, from their module parameters.
struct RPCConfig {
    /// ctl's sockets; empty when ctl is not loaded.
    var ctl: [RPCAddress] = []
    /// Permissions of ctl's unix socket files (`mode`, default 0600).
    var ctlMode: UInt32 = 0o600
    /// Largest binrpc request accepted (`binrpc_buffer_size`); a longer one is refused.
    var binrpcMaxRequest = 16_384
    var jsonrpcs: JSONRPCSConfig?

    static let defaultCtlSocket = "respite_ctl"

    init(_ settings: ConfigSettings, runDirectory: String) {
        let modules = settings.modules
        if modules.contains("ctl") {
            let params = settings.modparams["ctl"] ?? [:]
            let given = (params["binrpc"] ?? []).map(\.text)
            for text in given.isEmpty ? ["unix:" + RPCConfig.defaultCtlSocket] : given {
                // Checked when the config loaded.
                if case .success(let a) = RPCAddress.parse(text, runDirectory: runDirectory) { ctl.append(a) }
            }
            if case .int(let m)? = params["mode"]?.last { ctlMode = UInt32(m & 0o7777) }
            if case .int(let n)? = params["binrpc_buffer_size"]?.last { binrpcMaxRequest = max(1024, n) }
        }
        if modules.contains("jsonrpcs") {
            jsonrpcs = JSONRPCSConfig(settings.modparams["jsonrpcs"] ?? [:], runDirectory: runDirectory,
                                      httpLoaded: modules.contains("xhttp"))
        }
    }
}

/// jsonrpcs's parameters, with Kamailio's defaults.
struct JSONRPCSConfig {
    /// `transport`: 0 all that can be enabled, else the sum of 1 (HTTP), 2 (FIFO), 4 (datagram).
    var transport = 6
    var fifoPath: String
    var fifoMode: UInt32 = 0o660
    /// Where the reply FIFOs are (`fifo_reply_dir`, default /tmp/).
    var fifoReplyDirectory = "/tmp/"
    var datagram: RPCAddress?
    var datagramWorkers = 1
    var datagramMode: UInt32 = 0o660
    var pretty = true
    let httpLoaded: Bool

    var fifoEnabled: Bool { transport == 0 || transport & 2 != 0 }
    var datagramEnabled: Bool { (transport == 0 || transport & 4 != 0) && datagram != nil }
    var httpEnabled: Bool { httpLoaded && (transport == 0 || transport & 1 != 0) }

    init(_ params: [String: [ConfigValue]], runDirectory: String, httpLoaded: Bool) {
        self.httpLoaded = httpLoaded
        func int(_ name: String) -> Int? { if case .int(let i)? = params[name]?.last { return i }; return nil }
        func text(_ name: String) -> String? { params[name]?.last?.text }
        transport = int("transport") ?? 6
        let fifo = text("fifo_name") ?? "respite_rpc.fifo"
        fifoPath = fifo.hasPrefix("/") ? fifo : runDirectory + "/" + fifo
        fifoMode = int("fifo_mode").map { UInt32($0 & 0o7777) } ?? 0o660
        fifoReplyDirectory = text("fifo_reply_dir") ?? "/tmp/"
        if case .success(let a) = RPCAddress.parse(text("dgram_socket") ?? "respite_rpc.sock", runDirectory: runDirectory,
                                                   datagramDefault: true) {
            datagram = a
        }
        datagramWorkers = max(1, int("dgram_workers") ?? 1)
        datagramMode = int("dgram_mode").map { UInt32($0 & 0o7777) } ?? 0o660
        pretty = (int("pretty_format") ?? 1) != 0
    }
}
