import CCrypto

/// The hash of a digest exchange (RFC 7616 3.2): MD5 (RFC 2617) or SHA-256. Hex digests,
/// lower case, as the Authorization header carries them.
public enum DigestAlgorithm: String, Sendable {
    case md5 = "MD5"
    case sha256 = "SHA-256"

    /// The `algorithm` modparam's value: "" and "MD5" are MD5 (case-insensitive); nil for
    /// any other.
    public init?(param: String) {
        switch param.uppercased() {
        case "", "MD5": self = .md5
        case "SHA-256": self = .sha256
        default: return nil
        }
    }

    /// Hex digest of `text`'s UTF-8 bytes.
    public func hex(_ text: String) -> String {
        var bytes = Array(text.utf8)
        return DigestHash.hex(digest(&bytes))
    }

    func digest(_ bytes: inout [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let md = self == .md5 ? EVP_md5() : EVP_sha256()
        let ok = bytes.withUnsafeMutableBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(b.baseAddress, b.count, o.baseAddress, &length, md, nil)
            }
        }
        // EVP_Digest fails only without memory for its context; a digest of zeros then
        // matches no response.
        return ok == 1 ? Array(out.prefix(Int(length))) : [UInt8](repeating: 0, count: self == .md5 ? 16 : 32)
    }

    /// Hex length of a digest: 32 for MD5, 64 for SHA-256.
    public var hexLength: Int { self == .md5 ? 32 : 64 }
}

/// HA1 and response computations, and the HMAC that signs nonces.
public enum DigestHash {
    /// HA1 = H(username:realm:password).
    public static func ha1(_ algorithm: DigestAlgorithm, user: String, realm: String, password: String) -> String {
        algorithm.hex("\(user):\(realm):\(password)")
    }

    /// The response a client must send (RFC 2617 3.2.2.1; RFC 7616 3.4.1): with qop
    /// `auth`, H(HA1:nonce:nc:cnonce:qop:HA2); without qop, H(HA1:nonce:HA2);
    /// HA2 = H(method:uri).
    public static func response(
        _ algorithm: DigestAlgorithm, ha1: String, nonce: String, method: String, uri: String,
        qop: String?, nc: String?, cnonce: String?
    ) -> String {
        let ha2 = algorithm.hex("\(method):\(uri)")
        if let qop, let nc, let cnonce {
            return algorithm.hex("\(ha1):\(nonce):\(nc):\(cnonce):\(qop):\(ha2)")
        }
        return algorithm.hex("\(ha1):\(nonce):\(ha2)")
    }

    /// HMAC-SHA-256 of `data` under `key`.
    static func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(
                        EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &length)
                }
            }
        }
        return out
    }

    /// `count` random bytes from the system's generator (the master's secret).
    static func randomBytes(_ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        return ok == 1 ? out : nil
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two strings in time that depends only on their length.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
