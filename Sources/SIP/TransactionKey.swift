/// The identity of a transaction, for matching requests and responses to it.
///
/// - Server side, RFC 3261 17.2.3: branch + sent-by + method, when the top Via's branch
///   has the magic cookie. An ACK gets the INVITE's method so an ACK for a non-2xx reply
///   finds the INVITE transaction; a CANCEL has its own key, and `inviteKey` gives the key
///   of the INVITE it cancels.
/// - Server side, RFC 2543 fallback (no magic cookie): Request-URI, From tag, Call-ID,
///   CSeq number, top Via and method, plus the To tag for methods other than
///   INVITE/ACK/CANCEL. For INVITE, ACK and CANCEL the To tag is left out of the key (the
///   ACK carries the tag of our reply, the INVITE none): the transaction layer checks an
///   ACK's To tag against the reply it sent (RFC 3261 17.2.3).
/// - Client side, RFC 3261 17.1.3: branch + CSeq method, from a response's top Via and
///   CSeq, or from the branch and method of the request we sent.
///
/// The key is its canonical bytes (length-prefixed components, so no separator can be
/// forged); `hash` is 64-bit FNV-1a over them: the same in every process and every run,
/// fit for a hash table in shared memory. Equality compares the bytes.
public struct TransactionKey: Hashable, Sendable, CustomStringConvertible {
    /// The canonical key bytes.
    public let bytes: [UInt8]
    /// FNV-1a 64 of `bytes`: stable across processes and runs (unlike `Hasher`).
    public let hash: UInt64
    /// True for an RFC 3261 (magic-cookie branch) or client key, false for the RFC 2543 one.
    public let isRFC3261: Bool
    // Start of the method component, always the last one, so `inviteKey` can swap it.
    let methodOffset: Int

    /// `hash` folded to 32 bits, for tables indexed by a 32-bit value.
    public var hash32: UInt32 { UInt32(truncatingIfNeeded: hash ^ (hash >> 32)) }

    public static func == (a: TransactionKey, b: TransactionKey) -> Bool {
        a.hash == b.hash && a.bytes == b.bytes
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    public var description: String {
        "TransactionKey(\(isRFC3261 ? "3261" : "2543"), hash: \(hash))"
    }

    /// FNV-1a, 64-bit, over `bytes`.
    public static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    init(keyBytes: [UInt8], isRFC3261: Bool, methodOffset: Int) {
        bytes = keyBytes
        hash = TransactionKey.fnv1a(keyBytes)
        self.isRFC3261 = isRFC3261
        self.methodOffset = methodOffset
    }

    /// For a CANCEL's key, the key of the INVITE it cancels; otherwise `self`.
    public var inviteKey: TransactionKey {
        var b = Array(bytes[0..<methodOffset])
        guard b.count < bytes.count, Array(bytes[methodOffset...]) == KeyWriter.component("CANCEL") else { return self }
        b.append(contentsOf: KeyWriter.component("INVITE"))
        return TransactionKey(keyBytes: b, isRFC3261: isRFC3261, methodOffset: methodOffset)
    }

    /// The server transaction key of a request.
    public init(request m: SIPMessage) {
        self = m.bytes.withUnsafeBufferPointer { p in
            var w = KeyWriter()
            let via = m.topVia
            if let branch = via.branchRange, Via.isMagic(p, branch) {
                w.tag(UInt8(ascii: "S"))
                w.add(p, branch)
                w.addLower(p, via.hostRange)
                w.addPort(via.port)
                let offset = w.bytes.count
                w.addMethod(p, m.methodRange, ack: m.method == .ack)
                return TransactionKey(keyBytes: w.bytes, isRFC3261: true, methodOffset: offset)
            }
            w.tag(UInt8(ascii: "L"))
            w.add(p, m.requestURIRange)
            w.add(p, m.from.tagRange ?? 0..<0)
            w.add(p, m.callIDRange)
            w.addPort(Int(m.cseq.number))
            w.add(p, via.valueRange)
            switch m.method {
            case .invite, .ack, .cancel: w.add(p, 0..<0)
            default: w.add(p, m.to.tagRange ?? 0..<0)
            }
            let offset = w.bytes.count
            w.addMethod(p, m.methodRange, ack: m.method == .ack)
            return TransactionKey(keyBytes: w.bytes, isRFC3261: false, methodOffset: offset)
        }
    }

    /// The client transaction key a response belongs to: top Via branch + CSeq method.
    public init(response m: SIPMessage) {
        self = m.bytes.withUnsafeBufferPointer { p in
            TransactionKey.client(p, m.topVia.branchRange ?? 0..<0, m.cseq.methodRange)
        }
    }

    /// The client transaction key of a request this element sends with `branch`.
    public static func client(branch: String, method: SIPMethod) -> TransactionKey {
        var bytes = Array(branch.utf8)
        let branchCount = bytes.count
        bytes.appendString(method.name)
        return bytes.withUnsafeBufferPointer { client($0, 0..<branchCount, branchCount..<$0.count) }
    }

    static func client(_ p: Bytes, _ branch: Range<Int>, _ method: Range<Int>) -> TransactionKey {
        var w = KeyWriter()
        w.tag(UInt8(ascii: "C"))
        w.add(p, branch)
        let offset = w.bytes.count
        w.add(p, method)
        return TransactionKey(keyBytes: w.bytes, isRFC3261: true, methodOffset: offset)
    }
}

/// Writes length-prefixed key components.
struct KeyWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(64) }

    static func component(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [UInt8(truncatingIfNeeded: u.count >> 8), UInt8(truncatingIfNeeded: u.count)] + u
    }

    mutating func tag(_ t: UInt8) { bytes.append(t) }

    @inline(__always) mutating func length(_ n: Int) {
        bytes.append(UInt8(truncatingIfNeeded: n >> 8))
        bytes.append(UInt8(truncatingIfNeeded: n))
    }

    mutating func add(_ p: Bytes, _ r: Range<Int>) {
        length(r.count)
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[r]))
    }

    mutating func addLower(_ p: Bytes, _ r: Range<Int>) {
        length(r.count)
        for k in r { bytes.append(ASCII.lower(p[k])) }
    }

    mutating func addPort(_ port: Int?) {
        var digits: [UInt8] = []
        if var v = port {
            repeat {
                digits.append(UInt8(48 + v % 10))
                v /= 10
            } while v > 0
        }
        length(digits.count)
        bytes.append(contentsOf: digits.reversed())
    }

    mutating func addMethod(_ p: Bytes, _ r: Range<Int>, ack: Bool) {
        if ack {
            bytes.append(contentsOf: KeyWriter.component("INVITE"))
        } else {
            add(p, r)
        }
    }
}
