import Script

/// tm's module parameters, with Kamailio's defaults (milliseconds).
public struct TMSettings: Sendable {
    public var frTimer = 30_000
    public var frInvTimer = 120_000
    public var wtTimer = 5_000
    public var autoInv100 = true
    public var autoInv100Reason = "trying -- your call is important to us"
    public var t1 = 500
    public var t2 = 4_000
    /// The XAVP `t_load_contacts` stores the destination set in and `t_next_contacts`
    /// takes it from; empty: both functions are off (Kamailio's default).
    public var contactsAVP = ""
    /// The XAVP for contacts `t_next_contacts` holds back (Kamailio requires it beside
    /// `contacts_avp`).
    public var contactFlowsAVP = ""

    init(_ settings: ConfigSettings) {
        if let v = settings.modparamInt("tm", "fr_timer") { frTimer = v }
        if let v = settings.modparamInt("tm", "fr_inv_timer") { frInvTimer = v }
        if let v = settings.modparamInt("tm", "wt_timer") { wtTimer = v }
        if let v = settings.modparamInt("tm", "auto_inv_100") { autoInv100 = v != 0 }
        if case .string(let s)? = settings.modparam("tm", "auto_inv_100_reason") { autoInv100Reason = s }
        if case .string(let s)? = settings.modparam("tm", "contacts_avp") { contactsAVP = s }
        if case .string(let s)? = settings.modparam("tm", "contact_flows_avp") { contactFlowsAVP = s }
    }

    /// tm's parameters as the resolver checks them.
    static let params: [ModuleParamSpec] = [
        ModuleParamSpec("fr_timer", .int, default: .int(30_000), validate: positiveMilliseconds),
        ModuleParamSpec("fr_inv_timer", .int, default: .int(120_000), validate: positiveMilliseconds),
        ModuleParamSpec("wt_timer", .int, default: .int(5_000), validate: positiveMilliseconds),
        ModuleParamSpec("auto_inv_100", .int, default: .int(1)),
        ModuleParamSpec("auto_inv_100_reason", .string, default: .string("trying -- your call is important to us")),
        ModuleParamSpec("max_inv_lifetime", .int, default: .int(180_000), validate: positiveMilliseconds),
        ModuleParamSpec("max_noninv_lifetime", .int, default: .int(32_000), validate: positiveMilliseconds),
        ModuleParamSpec("contacts_avp", .string, default: .string("")),
        ModuleParamSpec("contact_flows_avp", .string, default: .string("")),
        ModuleParamSpec("failure_reply_mode", .int, default: .int(0)) { v in
            if case .int(let n) = v, !(0...3).contains(n) { return "failure_reply_mode is 0, 1, 2 or 3" }
            return nil
        },
    ]

    /// What the parameters say together: a `failure_reply_mode` Respite does not have is
    /// loaded with a warning naming it (never ignored silently); `contacts_avp` without
    /// `contact_flows_avp` is an error, as Kamailio refuses to start with it.
    static let checkParams: @Sendable (inout ModuleParamsContext) -> Void = { context in
        let entries = context.entries
        func named(_ param: String) -> (String, SourceLocation)? {
            guard let entry = entries.last(where: { $0.param == param }), case .string(let s) = entry.value else { return nil }
            return (s, entry.location)
        }
        if let (contacts, at) = named("contacts_avp"), !contacts.isEmpty, (named("contact_flows_avp")?.0 ?? "").isEmpty {
            context.error("contacts_avp is set but contact_flows_avp is not: t_next_contacts needs both", at: at)
        }
        for entry in context.entries where entry.param == "failure_reply_mode" {
            if case .int(let n) = entry.value, n != 0 {
                context.warning("failure_reply_mode \(n) is not available in Respite: after a failure route, the best reply of every branch wins (mode 0)", at: entry.location)
            }
        }
    }

    static let positiveMilliseconds: @Sendable (ConfigValue) -> String? = { v in
        if case .int(let n) = v, n <= 0 { return "must be a positive number of milliseconds" }
        return nil
    }
}
