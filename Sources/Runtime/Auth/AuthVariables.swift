import SIP
import Script

/// pv's variables of the digest credentials a request carries (`$au`, `$ad`, `$aU`, `$ar`,
/// `$adu`, `$aa`), read from the first Proxy-Authorization header, or the first
/// Authorization header for REGISTER and PUBLISH; when that header is absent, the other
/// one (as Kamailio 5.6.3 reads `$au` of a MESSAGE with an Authorization header). Null
/// when neither is present or the header does not parse.
enum AuthVariables {
    static let variables: [VariableClassSpec] = [
        credential("au") { .string(String($0.user)) },
        credential("ad") { .string(String($0.domain)) },
        credential("aU") { .string($0.username) },
        credential("ar") { .string($0.realm) },
        credential("adu") { .string($0.uri) },
        credential("aa") { $0.algorithm.map { .string($0) } ?? .null },
    ]

    static func credential(_ name: String, _ part: @escaping @Sendable (DigestCredentials) -> Value)
        -> VariableClassSpec
    {
        VariableClassSpec(name) { ctx, _ in
            guard let c = credentials(ctx.message.message) else { return .null }
            return part(c)
        }
    }

    static func credentials(_ m: SIPMessage) -> DigestCredentials? {
        guard m.isRequest else { return nil }
        let preferred: [CredentialsHeader] =
            m.method == .register || m.method == .publish
            ? [.authorization, .proxyAuthorization] : [.proxyAuthorization, .authorization]
        for kind in preferred {
            guard let field = m.fields(named: kind.rawValue).first else { continue }
            return DigestCredentials.parse(m.value(of: field))
        }
        return nil
    }
}
