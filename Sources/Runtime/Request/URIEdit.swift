import SIP

/// Rewrites of a SIP URI's parts for `$rU`, `$rd`, `$rp` assignments: the rest of the
/// URI is kept byte for byte.
enum URIEdit {
    static func splice(_ uri: String, _ range: Range<Int>, _ text: String) -> String {
        var bytes = Array(uri.utf8)
        bytes.replaceSubrange(range, with: Array(text.utf8))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func replacingUser(_ text: String, _ user: String?) -> String? {
        guard let uri = SIPURI.parse(text) else { return nil }
        if let r = uri.userRange {
            // Remove "user@" entirely when the user is cleared (including a password).
            if user == nil || user == "" { return splice(text, r.lowerBound..<uri.hostRange.lowerBound, "") }
            return splice(text, r, user!)
        }
        guard let user, !user.isEmpty else { return text }
        return splice(text, uri.hostRange.lowerBound..<uri.hostRange.lowerBound, user + "@")
    }

    static func replacingHost(_ text: String, _ host: String?) -> String? {
        guard let uri = SIPURI.parse(text), let host, !host.isEmpty else { return nil }
        return splice(text, uri.hostRange, host)
    }

    static func replacingPort(_ text: String, _ port: Int) -> String? {
        guard let uri = SIPURI.parse(text), (0...65535).contains(port) else { return nil }
        let bytes = Array(text.utf8)
        var end = uri.hostRange.upperBound
        if uri.port != nil, end < bytes.count, bytes[end] == UInt8(ascii: ":") {
            end += 1
            while end < bytes.count, bytes[end] >= 48, bytes[end] <= 57 { end += 1 }
        }
        let replacement = port == 0 ? "" : ":\(port)"
        return splice(text, uri.hostRange.upperBound..<end, replacement)
    }
}
