import SIP
import Script

/// registrar's module parameters, with Kamailio 5.6's defaults.
struct RegistrarSettings: Sendable {
    var defaultExpires = 3600
    var minExpires = 60
    var maxExpires = 0
    /// 0: an expires below min_expires becomes min_expires; 1: 423 Interval Too Brief.
    var minExpiresMode = 0
    var maxContacts = 0
    var methodFiltering = false
    var appendBranches = true
    var usePath = false
    var pathMode = 2
    var defaultQ = -1
    /// usrloc's `cseq_delay`: seconds during which the same Call-ID and CSeq again count as
    /// a retransmission of the REGISTER that last changed the contact.
    var cseqDelay = 20
    /// `$avp(name)` holding the received URI to save (nathelper's fix_nated_register).
    var receivedAVP: String?

    init(_ settings: ConfigSettings) {
        func int(_ name: String) -> Int? { settings.modparamInt("registrar", name) }
        if let v = int("default_expires") { defaultExpires = v }
        if let v = int("min_expires") { minExpires = v }
        if let v = int("max_expires") { maxExpires = v }
        if let v = int("min_expires_mode") { minExpiresMode = v }
        if let v = int("max_contacts") { maxContacts = v }
        if let v = int("method_filtering") { methodFiltering = v != 0 }
        if let v = int("append_branches") { appendBranches = v != 0 }
        if let v = int("use_path") { usePath = v != 0 }
        if let v = int("path_mode") { pathMode = v }
        if let v = int("default_q") { defaultQ = v }
        if let v = settings.modparamInt("usrloc", "cseq_delay") { cseqDelay = v }
        if case .string(let s)? = settings.modparam("registrar", "received_avp") { receivedAVP = Self.avpName(s) }
    }

    /// The settings read when the config loaded; read from the parameters when a program
    /// was made without registrar's parameter check (tests that build settings by hand).
    static func of(_ settings: ConfigSettings) -> RegistrarSettings {
        settings.derived["registrar"] as? RegistrarSettings ?? RegistrarSettings(settings)
    }

    /// `$avp(NAME)` or `$avp(s:NAME)` -> NAME.
    static func avpName(_ spec: String) -> String? {
        guard spec.hasPrefix("$avp("), spec.hasSuffix(")") else { return nil }
        var name = String(spec.dropFirst(5).dropLast())
        if name.hasPrefix("s:") || name.hasPrefix("i:") { name = String(name.dropFirst(2)) }
        return name.isEmpty ? nil : name
    }

    static let params: [ModuleParamSpec] = [
        ModuleParamSpec("default_expires", .int, default: .int(3600), validate: nonNegative),
        ModuleParamSpec("min_expires", .int, default: .int(60), validate: nonNegative),
        ModuleParamSpec("max_expires", .int, default: .int(0), validate: nonNegative),
        ModuleParamSpec("min_expires_mode", .int, default: .int(0)),
        ModuleParamSpec("max_contacts", .int, default: .int(0), validate: nonNegative),
        ModuleParamSpec("method_filtering", .int, default: .int(0)),
        ModuleParamSpec("append_branches", .int, default: .int(1)),
        ModuleParamSpec("use_path", .int, default: .int(0)),
        ModuleParamSpec("path_mode", .int, default: .int(2)) { v in
            if case .int(let n) = v, !(0...2).contains(n) { return "path_mode must be 0, 1 or 2" }
            return nil
        },
        ModuleParamSpec("default_q", .int, default: .int(-1)),
        ModuleParamSpec("case_sensitive", .int, default: .int(1)),
        ModuleParamSpec("received_avp", .string) { v in
            avpName(v.text) == nil ? "received_avp must be an AVP such as $avp(RECEIVED)" : nil
        },
        ModuleParamSpec("gruu_enabled", .int, default: .int(0)) { v in
            if case .int(let n) = v, n != 0 { return "gruu_enabled is not available in Respite yet (set it to 0)" }
            return nil
        },
        ModuleParamSpec("realm_prefix", .string),
        ModuleParamSpec("xavp_cfg", .string),
        ModuleParamSpec("xavp_rcd", .string),
    ]

    static let nonNegative: @Sendable (ConfigValue) -> String? = { v in
        if case .int(let n) = v, n < 0 { return "must not be negative" }
        return nil
    }

    /// Kamailio's method bits (the `Methods` of a contact).
    static let methodBits: [String: UInt32] = [
        "INVITE": 1 << 0, "CANCEL": 1 << 1, "ACK": 1 << 2, "BYE": 1 << 3, "INFO": 1 << 4, "REGISTER": 1 << 5,
        "SUBSCRIBE": 1 << 6, "NOTIFY": 1 << 7, "MESSAGE": 1 << 8, "OPTIONS": 1 << 9, "PRACK": 1 << 10,
        "UPDATE": 1 << 11, "REFER": 1 << 12, "PUBLISH": 1 << 13,
    ]

    /// The bits of a comma-separated method list; unknown methods count as none.
    static func methods(_ list: String) -> UInt32 {
        list.split(separator: ",").reduce(0) { $0 | (methodBits[$1.trimmingSpaces.uppercased()] ?? 0) }
    }
}

/// The AOR of a URI as usrloc keys it: `user` or, with use_domain, `user@host`.
enum AOR {
    static func of(_ uriText: String, useDomain: Bool) -> String? {
        guard let uri = SIPURI.parse(uriText) else { return nil }
        let user = uri.user.map { SIPURI.percentDecoded($0) } ?? ""
        if useDomain { return user.isEmpty ? uri.host : "\(user)@\(uri.host)" }
        return user.isEmpty ? nil : user
    }
}
