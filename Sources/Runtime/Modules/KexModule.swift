import Script

/// kex: Kamailio's core extensions. Loading it gives the `stats.*` RPC methods (statistics
/// live in the arena); its script functions (branch flags, km_append_branch...) are not
/// available yet.
enum KexModule {
    static var spec: ModuleSpec { ModuleSpec(name: "kex") }
}
