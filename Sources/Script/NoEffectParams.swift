/// Core parameters of Kamailio that tune a feature Respite does not have (SCTP, TLS, Via
/// server ids): a
/// config that sets them still loads, with one warning per parameter naming it, so nothing
/// is ignored silently and Kamailio's stock configs need no edit.
enum NoEffectParams {
    /// Parameter names and the feature they tune, as the warning words it.
    static let features: [(feature: String, names: [String])] = [
        ("Respite has no SCTP transport", [
            "enable_sctp", "sctp_children", "sctp_socket_rcvbuf", "sctp_socket_receive_buffer",
            "sctp_socket_sndbuf", "sctp_socket_send_buffer", "sctp_autoclose", "sctp_send_ttl",
            "sctp_send_retries", "sctp_assoc_tracking", "sctp_assoc_reuse", "sctp_max_assocs",
            "sctp_srto_initial", "sctp_srto_max", "sctp_srto_min", "sctp_asocmaxrxt",
            "sctp_init_max_attempts", "sctp_init_max_timeo", "sctp_hbinterval", "sctp_pathmaxrxt",
            "sctp_sack_delay", "sctp_sack_freq", "sctp_max_burst",
        ]),
        ("Respite has no TLS transport", ["enable_tls", "tls_max_connections", "tls_port_no"]),
        ("Respite has no Via server ids or Via parameters from an xavp (via_add_srvid, via_add_xavp_params)",
         ["server_id", "xavp_via_params", "xavp_via_fields"]),
    ]

    /// One spec per parameter: any value (a number, a word, a string) is accepted.
    static var specs: [CoreParamSpec] {
        features.flatMap { entry in
            entry.names.map { CoreParamSpec($0, .intOrString, noEffect: entry.feature) }
        }
    }
}
