import Script

/// The settings of running Respite as a service: run directory, user and group, log
/// format. Core parameters as Kamailio names them, with the command line on top.
extension ServerSettings {
    /// `run_dir` (alias `rundir`), `user`/`uid`, `group`/`gid`, `log_engine_type`,
    /// `log_engine_data`.
    static var serviceParamSpecs: [CoreParamSpec] {
        let engine: @Sendable (ConfigValue) -> String? = { value in
            LogFormat(engineType: value.text) == nil ? "log_engine_type '\(value.text)' is not available (Respite has \"json\"; leave it unset for text lines)" : nil
        }
        return [
            CoreParamSpec("run_dir", .string),
            CoreParamSpec("rundir", .string),
            CoreParamSpec("user", .raw),
            CoreParamSpec("uid", .raw),
            CoreParamSpec("group", .raw),
            CoreParamSpec("gid", .raw),
            CoreParamSpec("log_engine_type", .string, validate: engine),
            // Kamailio's JSON engine reads options from it; Respite's has none and ignores it.
            CoreParamSpec("log_engine_data", .string),
        ]
    }

    /// Fills the service settings from the config and the command line. Returns an error
    /// for a user, group or log engine that does not exist.
    mutating func applyService(_ config: ConfigSettings, options: ServerOptions) -> SettingsError? {
        func text(_ names: String...) -> String? {
            for name in names {
                if let value = config.core(name), !value.text.isEmpty { return value.text }
            }
            return nil
        }
        runDirectory = options.runDirectory ?? text("run_dir", "rundir") ?? RunDirectory.standard
        privateMemoryMB = options.privateMemoryMB ?? config.coreInt("pkg_mem_size")
        switch RunAs.resolve(user: options.user ?? text("user", "uid"), group: options.group ?? text("group", "gid")) {
        case .success(let runAs): self.runAs = runAs
        case .failure(let e): return e
        }
        let engine = options.logEngine ?? text("log_engine_type") ?? ""
        guard let format = LogFormat(engineType: engine) else {
            return SettingsError(message: "log engine '\(engine)' is not available (Respite has json and text)")
        }
        logFormat = format
        return nil
    }
}
