import Script

/// kex: Kamailio's core extensions. Loading it gives the `stats.*` RPC methods (statistics
/// live in the arena) and the `$du` functions (CoreURIFunctions.swift); its other script
/// functions (branch flags...) are not available yet.
enum KexModule {
    static var spec: ModuleSpec { ModuleSpec(name: "kex", functions: CoreURIFunctions.kexFunctions) }
}
