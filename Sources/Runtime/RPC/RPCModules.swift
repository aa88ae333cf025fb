import Script

/// The management modules a stock config loads: their parameters are checked when the
/// config loads; what they start is in `RPCConfig` and the master.
enum RPCModules {
    /// ctl: binrpc (kamcmd) on unix, UDP and TCP sockets, answered by the `ctl handler`.
    static var ctl: ModuleSpec {
        ModuleSpec(name: "ctl", params: [
            ModuleParamSpec("binrpc", .string) { value in
                if case .failure(let why) = RPCAddress.parse(value.text, runDirectory: "/run") { return why.description }
                return nil
            },
            ModuleParamSpec("mode", .int, default: .int(0o600)) { value in
                if case .int(let m) = value, !(0...0o7777).contains(m) { return "mode must be permissions such as 0600" }
                return nil
            },
            ModuleParamSpec("binrpc_buffer_size", .intOrString),
            ModuleParamSpec("binrpc_max_body_size", .int),
            ModuleParamSpec("binrpc_struct_max_body_size", .int),
            ModuleParamSpec("autoconversion", .int),
            ModuleParamSpec("user", .intOrString) { _ in unsupported("user") },
            ModuleParamSpec("group", .intOrString) { _ in unsupported("group") },
            ModuleParamSpec("fifo", .string) { _ in
                "ctl's old fifo protocol is not available in Respite: use binrpc sockets (kamcmd) or jsonrpcs's fifo_name"
            },
        ])
    }

    /// jsonrpcs: JSON-RPC 2.0 on a FIFO, a datagram socket, and over HTTP through xhttp.
    static var jsonrpcs: ModuleSpec {
        ModuleSpec(name: "jsonrpcs", params: [
            ModuleParamSpec("pretty_format", .int, default: .int(1)),
            ModuleParamSpec("transport", .int, default: .int(6)) { value in
                if case .int(let t) = value, !(0...7).contains(t) { return "transport is 0 (all) or a sum of 1 (http), 2 (fifo), 4 (datagram)" }
                return nil
            },
            ModuleParamSpec("fifo_name", .string),
            ModuleParamSpec("fifo_mode", .int),
            ModuleParamSpec("fifo_reply_dir", .string),
            ModuleParamSpec("dgram_socket", .string) { value in
                if case .failure(let why) = RPCAddress.parse(value.text, runDirectory: "/run", datagramDefault: true) { return why.description }
                return nil
            },
            ModuleParamSpec("dgram_workers", .int) { value in
                if case .int(let n) = value, !(1...16).contains(n) { return "dgram_workers must be between 1 and 16" }
                return nil
            },
            ModuleParamSpec("dgram_mode", .int),
            ModuleParamSpec("dgram_timeout", .int),
            ModuleParamSpec("fifo_user", .intOrString) { _ in unsupported("fifo_user") },
            ModuleParamSpec("fifo_group", .intOrString) { _ in unsupported("fifo_group") },
            ModuleParamSpec("dgram_user", .intOrString) { _ in unsupported("dgram_user") },
            ModuleParamSpec("dgram_group", .intOrString) { _ in unsupported("dgram_group") },
        ])
    }

    /// cfg_rpc: the `cfg.*` RPC methods over the settings changeable at run time.
    static var cfgRPC: ModuleSpec { ModuleSpec(name: "cfg_rpc") }

    /// counters: Kamailio's statistics interface; the statistics themselves are the core's.
    static var counters: ModuleSpec {
        ModuleSpec(name: "counters", params: [
            ModuleParamSpec("script_counter", .string) { _ in
                "counters's script counters (cnt_inc) are not available in Respite yet"
            },
            ModuleParamSpec("script_cnt_grp_name", .string),
        ])
    }

    private static func unsupported(_ name: String) -> String {
        "\(name): Respite does not change the owner of its management sockets; start it as the user that should own them (-u/-g)"
    }
}
