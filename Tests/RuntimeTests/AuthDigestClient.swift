import Foundation
import Runtime
import SIP
import TestSupport

/// A UA side of digest authentication for the auth tests: sends a request, reads the
/// challenge and answers it with a response computed from a password (RFC 2617 / 7616).
struct AuthDigestClient {
    let sip: SIPTestClient
    /// The host requests are addressed to (the realm the config challenges with).
    var domain = "127.0.0.1"

    /// One challenge's parameters, parsed from WWW-Authenticate / Proxy-Authenticate.
    struct Challenge {
        var header: String
        var params: [String: String]
        var nonce: String { params["nonce"] ?? "" }
        var realm: String { params["realm"] ?? "" }
        var qop: String? { params["qop"] }

        /// The header with its nonce value replaced by N: what two servers must agree on.
        var shape: String {
            header.replacingOccurrences(of: nonce, with: "N")
        }
    }

    /// A request from `user` to `target` with `extra` headers; From and To name `user`.
    func request(_ method: String, user: String, target: String? = nil, extra: [String] = [], callID: String? = nil)
        -> String
    {
        let to = target ?? user
        return sip.request(
            method, user: to,
            headers: [
                "From: <sip:\(user)@\(domain)>;tag=auth-\(UInt32.random(in: 0...UInt32.max))",
                "To: <sip:\(to)@\(domain)>",
            ] + extra, callID: callID)
    }

    /// The request-URI `SIPTestClient.request` writes for `user`.
    func uri(_ user: String) -> String { "sip:\(user)@127.0.0.1:\(sip.server)" }

    static func challenge(of reply: SIPMessage) -> Challenge? {
        let name = reply.statusCode == 407 ? "Proxy-Authenticate" : "WWW-Authenticate"
        guard let value = reply.headerValue(name) else { return nil }
        var params: [String: String] = [:]
        for part in value.dropFirst("Digest ".count).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            params[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(
                in: CharacterSet(charactersIn: " \""))
        }
        return Challenge(header: "\(name): \(value)", params: params)
    }

    /// An Authorization (or Proxy-Authorization) header answering `challenge`.
    static func credentials(
        _ header: String = "Authorization", user: String, password: String, challenge c: Challenge,
        method: String, uri: String, nc: Int? = nil, realm: String? = nil
    ) -> String {
        let realm = realm ?? c.realm
        let ha1 = DigestHash.ha1(.md5, user: user, realm: realm, password: password)
        let ncText = nc.map { String(format: "%08x", $0) }
        let cnonce = "0a4f113b"
        let qop = nc == nil ? nil : "auth"
        let response = DigestHash.response(
            .md5, ha1: ha1, nonce: c.nonce, method: method, uri: uri,
            qop: qop, nc: ncText, cnonce: qop == nil ? nil : cnonce)
        var h =
            "\(header): Digest username=\"\(user)\", realm=\"\(realm)\", nonce=\"\(c.nonce)\", uri=\"\(uri)\", response=\"\(response)\", algorithm=MD5"
        if let ncText { h += ", qop=auth, nc=\(ncText), cnonce=\"\(cnonce)\"" }
        return h
    }

    /// "code" and the challenge's shape (nonce replaced), or "no reply".
    static func describe(_ reply: SIPMessage?) -> String {
        guard let reply else { return "no reply" }
        guard let c = challenge(of: reply) else { return "\(reply.statusCode) \(reply.reasonPhrase)" }
        return "\(reply.statusCode) \(reply.reasonPhrase) | \(c.shape)"
    }
}
