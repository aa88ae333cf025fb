/// A SIP request method. Known methods compare by case; RFC 3261 methods are
/// case-sensitive, so `invite` is not `INVITE` and lands in `.other`.
public enum SIPMethod: Hashable, Sendable, CustomStringConvertible {
    case invite, ack, bye, cancel, register, options, info, prack
    case subscribe, notify, update, message, refer, publish
    case other(String)

    /// Creates a method from its exact name (`"INVITE"`), `.other` for anything else.
    public init(_ name: String) {
        var name = name
        self = name.withUTF8 { SIPMethod.identify($0, 0..<$0.count) }
    }

    /// The method's name as it appears on the wire.
    public var name: String {
        switch self {
        case .invite: "INVITE"
        case .ack: "ACK"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .register: "REGISTER"
        case .options: "OPTIONS"
        case .info: "INFO"
        case .prack: "PRACK"
        case .subscribe: "SUBSCRIBE"
        case .notify: "NOTIFY"
        case .update: "UPDATE"
        case .message: "MESSAGE"
        case .refer: "REFER"
        case .publish: "PUBLISH"
        case .other(let s): s
        }
    }

    public var description: String { name }

    @inline(__always)
    private static func same(_ p: Bytes, _ r: Range<Int>, _ lit: StaticString) -> Bool {
        guard r.count == lit.utf8CodeUnitCount else { return false }
        let l = lit.utf8Start
        var k = 0
        while k < r.count {
            if p[r.lowerBound &+ k] != l[k] { return false }
            k &+= 1
        }
        return true
    }

    /// Identifies the method spelled by `p[r]` (case-sensitive).
    static func identify(_ p: Bytes, _ r: Range<Int>) -> SIPMethod {
        guard let first = r.isEmpty ? nil : p[r.lowerBound] else { return .other("") }
        switch first {
        case 73: // I
            if same(p, r, "INVITE") { return .invite }
            if same(p, r, "INFO") { return .info }
        case 65: if same(p, r, "ACK") { return .ack }
        case 66: if same(p, r, "BYE") { return .bye }
        case 67: if same(p, r, "CANCEL") { return .cancel }
        case 82:
            if same(p, r, "REGISTER") { return .register }
            if same(p, r, "REFER") { return .refer }
        case 79: if same(p, r, "OPTIONS") { return .options }
        case 80:
            if same(p, r, "PRACK") { return .prack }
            if same(p, r, "PUBLISH") { return .publish }
        case 83: if same(p, r, "SUBSCRIBE") { return .subscribe }
        case 78: if same(p, r, "NOTIFY") { return .notify }
        case 85: if same(p, r, "UPDATE") { return .update }
        case 77: if same(p, r, "MESSAGE") { return .message }
        default: break
        }
        return .other(String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self))
    }
}
