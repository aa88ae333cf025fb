import Shared

/// Respite's nonces: 12 bytes (the second the nonce expires, 4 bytes big endian; its id
/// in the arena's nc array, 8 bytes) and the first 16 bytes of their HMAC-SHA-256 under
/// the secret, in base64 (40 characters, as long as Kamailio's). The MAC makes both the
/// expiry and the id tamper-proof; the id ties the nonce to its nc slot.
struct NonceCodec {
    /// The signing key: the `secret` modparam's bytes, or the master's random secret.
    let key: [UInt8]
    let table: NonceCountTable?

    static let dataBytes = 12
    static let macBytes = 16

    /// The codec of a process: nil when neither a secret nor the arena's random one exists
    /// (the auth section is missing: a programming error, logged by the caller).
    init?(settings: AuthSettings, table: NonceCountTable?) {
        if let s = settings.secret {
            key = Array(s.utf8)
        } else if let random = table?.randomSecret {
            key = random
        } else {
            return nil
        }
        self.table = table
    }

    /// A fresh nonce valid until `now + expire`.
    func issue(now: Int, expire: Int) -> String {
        let id = table?.issue() ?? 0
        var data = [UInt8]()
        data.reserveCapacity(Self.dataBytes + Self.macBytes)
        let expires = UInt32(clamping: now + expire)
        for shift in stride(from: 24, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: expires >> UInt32(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: id >> UInt64(shift)))
        }
        data += DigestHash.hmac(key: key, data).prefix(Self.macBytes)
        return Base64.encode(data)
    }

    enum Verdict: Equatable {
        case valid(id: UInt64)
        /// Signed by us, but expired (or too far in the future).
        case stale
        /// Not a nonce of ours: bad length, encoding or signature.
        case invalid
    }

    /// Checks a nonce's signature and age.
    func check(_ nonce: String, now: Int, expire: Int, maxDrift: Int) -> Verdict {
        guard let bytes = Base64.decode(nonce), bytes.count == Self.dataBytes + Self.macBytes else { return .invalid }
        let data = Array(bytes.prefix(Self.dataBytes))
        let mac = DigestHash.hmac(key: key, data).prefix(Self.macBytes)
        var diff: UInt8 = 0
        for (a, b) in zip(mac, bytes.suffix(Self.macBytes)) { diff |= a ^ b }
        guard diff == 0 else { return .invalid }
        let expires = data[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let id = data[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if expires < now { return .stale }
        // Issued (expires - expire) more than maxDrift seconds from now: the clock moved back.
        if expires - expire > now + maxDrift { return .stale }
        return .valid(id: id)
    }
}

/// Base64 (RFC 4648, standard alphabet, padded), for nonces.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0,
                b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0, pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                let v: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): v = 62
                case UInt8(ascii: "/"): v = 63
                case UInt8(ascii: "=") where i + 4 == chars.count && j >= 2: v = 0; pad += 1
                default: return nil
                }
                if pad > 0 && c != UInt8(ascii: "=") { return nil }
                n = n << 6 | v
            }
            out.append(UInt8(n >> 16 & 255))
            if pad < 2 { out.append(UInt8(n >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(n & 255)) }
            i += 4
        }
        return out
    }
}
