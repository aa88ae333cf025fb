import CShared
import Script
import Shared

/// The auth module's parameters, read once when the config loads (`ConfigSettings.derived`
/// and each function's fixup payload).
public struct AuthSettings: Sendable {
    /// `secret`: the nonce-signing key; nil: the master draws a random one before fork.
    public var secret: String?
    /// `nonce_expire`, seconds.
    public var nonceExpire = 300
    /// `nonce_auth_max_drift`, seconds: how far in the future a nonce's time may lie.
    public var maxDrift = 3
    /// `nonce_count`: the nc of each nonce must grow (checked in the arena).
    public var nonceCount = false
    /// log2 of `nc_array_size` / `nc_array_order`.
    public var ncArrayOrder = 20
    public var algorithm: DigestAlgorithm = .md5
    /// Whether `algorithm` was set: the challenge then names it.
    public var algorithmNamed = false
    /// `realm_prefix`: stripped from the front of a realm.
    public var realmPrefix = ""
    /// `force_stateless_reply`: challenges never go through the transaction.
    public var forceStatelessReply = false
    /// `qop`: kept for people reading the config; as in Kamailio 5.6.3, a challenge offers
    /// qop by its own flags (auth_challenge(realm, 1)).
    public var qop = ""

    public static let module = "auth"

    /// The parameters, as ModuleSpec lists them. Those with no effect in Respite (the
    /// extra integrity checks, one_time_nonce) are accepted and reported by checkParams.
    static var params: [ModuleParamSpec] {
        [
            ModuleParamSpec("secret", .string) { v in
                v.text.isEmpty ? "secret must not be empty (leave it unset for a random one)" : nil
            },
            ModuleParamSpec("nonce_expire", .int, default: .int(300)) { v in
                if case .int(let n) = v, !(1...86_400).contains(n) {
                    return "nonce_expire is in seconds, between 1 and 86400"
                }
                return nil
            },
            ModuleParamSpec("nonce_auth_max_drift", .int, default: .int(3)) { v in
                if case .int(let n) = v, !(0...86_400).contains(n) {
                    return "nonce_auth_max_drift is in seconds, between 0 and 86400"
                }
                return nil
            },
            ModuleParamSpec("nonce_count", .int, default: .int(0)),
            ModuleParamSpec("nc_array_size", .int) { v in
                if case .int(let n) = v,
                    n < 1 << NonceCountTable.orderRange.lowerBound || n > 1 << NonceCountTable.orderRange.upperBound
                {
                    return
                        "nc_array_size must be between \(1 << NonceCountTable.orderRange.lowerBound) and \(1 << NonceCountTable.orderRange.upperBound)"
                }
                return nil
            },
            ModuleParamSpec("nc_array_order", .int) { v in
                if case .int(let n) = v, !NonceCountTable.orderRange.contains(n) {
                    return
                        "nc_array_order must be between \(NonceCountTable.orderRange.lowerBound) and \(NonceCountTable.orderRange.upperBound)"
                }
                return nil
            },
            ModuleParamSpec("nid_pool_no", .int, default: .int(1)),
            ModuleParamSpec("qop", .string, default: .string("")) { v in
                ["", "auth", "auth-int"].contains(v.text) ? nil : "qop is \"auth\", \"auth-int\" or \"\""
            },
            ModuleParamSpec("algorithm", .string, default: .string("")) { v in
                DigestAlgorithm(param: v.text) == nil ? "algorithm is \"MD5\" or \"SHA-256\"" : nil
            },
            ModuleParamSpec("realm_prefix", .string, default: .string("")),
            ModuleParamSpec("force_stateless_reply", .int, default: .int(0)),
            ModuleParamSpec("use_domain", .int, default: .int(0)),
            ModuleParamSpec("add_authinfo_hdr", .int, default: .int(0)),
            ModuleParamSpec("one_time_nonce", .int, default: .int(0)),
            ModuleParamSpec("otn_in_flight_no", .int),
            ModuleParamSpec("otn_in_flight_order", .int),
            ModuleParamSpec("auth_checks_register", .int, default: .int(0)),
            ModuleParamSpec("auth_checks_no_dlg", .int, default: .int(0)),
            ModuleParamSpec("auth_checks_in_dlg", .int, default: .int(0)),
        ]
    }

    /// Parameters Respite accepts but does not act on, with why (a warning at load when set
    /// to anything but their default).
    static let withoutEffect: [String: String] = [
        "one_time_nonce": "Respite refuses replays through nonce_count (qop) only",
        "otn_in_flight_no": "one_time_nonce has no effect", "otn_in_flight_order": "one_time_nonce has no effect",
        "auth_checks_register": "nonces carry no message checks in Respite",
        "auth_checks_no_dlg": "nonces carry no message checks in Respite",
        "auth_checks_in_dlg": "nonces carry no message checks in Respite",
        "add_authinfo_hdr": "Respite adds no Authentication-Info header",
    ]

    public init(_ settings: ConfigSettings) {
        let m = Self.module
        if let s = settings.modparam(m, "secret")?.text, !s.isEmpty { secret = s }
        if let v = settings.modparamInt(m, "nonce_expire") { nonceExpire = v }
        if let v = settings.modparamInt(m, "nonce_auth_max_drift") { maxDrift = v }
        nonceCount = (settings.modparamInt(m, "nonce_count") ?? 0) != 0
        if let v = settings.modparamInt(m, "nc_array_order") { ncArrayOrder = v }
        if let v = settings.modparamInt(m, "nc_array_size"), v > 0 {
            // Rounded down to a power of two, as Kamailio does.
            ncArrayOrder = Int.bitWidth - 1 - v.leadingZeroBitCount
        }
        if let a = settings.modparam(m, "algorithm")?.text, let alg = DigestAlgorithm(param: a) {
            algorithm = alg
            algorithmNamed = !a.isEmpty
        }
        realmPrefix = settings.modparam(m, "realm_prefix")?.text ?? ""
        forceStatelessReply = (settings.modparamInt(m, "force_stateless_reply") ?? 0) != 0
        qop = settings.modparam(m, "qop")?.text ?? ""
    }

    /// The realm with `realm_prefix` taken off its front.
    func strip(_ realm: String) -> String {
        guard !realmPrefix.isEmpty, realm.hasPrefix(realmPrefix), realm.count > realmPrefix.count else { return realm }
        return String(realm.dropFirst(realmPrefix.count))
    }

    /// checkParams: warns about the parameters that do nothing here.
    static func check(_ context: inout ModuleParamsContext) {
        for e in context.entries {
            guard let why = withoutEffect[e.param] else { continue }
            let isDefault = e.value.text == "0" || e.value.text.isEmpty
            if !isDefault { context.warning("auth: modparam \(e.param) has no effect: \(why)", at: e.location) }
        }
        context.derived = AuthSettings(context.settings)
    }
}

extension AuthSettings {
    /// Creates the arena's "auth" section (master, before fork): the nc array, and the
    /// random secret when the config sets none, drawn here so every process shares it.
    @discardableResult
    func installNonceCounts(in arena: ArenaRef) throws -> NonceCountTable {
        var random: [UInt8]?
        if secret == nil {
            guard let bytes = DigestHash.randomBytes(Int(CS_AUTH_SECRET_BYTES)) else {
                throw ArenaError.invalidLayout("auth: the system's random generator gave no secret")
            }
            random = bytes
        }
        // Without nonce_count the array is never read: the smallest one keeps ids issued.
        let order = nonceCount ? ncArrayOrder : NonceCountTable.orderRange.lowerBound
        return try arena.installNonceCounts(
            order: order, randomSecret: random, nonceExpire: nonceExpire, nonceCount: nonceCount)
    }
}
