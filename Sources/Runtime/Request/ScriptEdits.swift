import Script

/// What the script changed about the message it runs for: the Request-URI, `$du`, header
/// edits, AVPs and XAVPs. It lives on the message context while the script runs, and once
/// the message has a transaction it is also what the transaction keeps in the arena (its
/// `scriptState` buffer, in the encoding below), so the process that resumes it or runs
/// its failure route starts from the same edits.
struct ScriptEdits: Equatable {
    /// `$ru` (and `$rU`, `$rd`, `$rp`) after a script assignment; nil: unchanged.
    var requestURI: String?
    /// `$du`: where to send instead of the Request-URI.
    var destinationURI: String?
    /// `$fs` (force_send_socket): the index of the listen socket relays leave from; nil:
    /// chosen by the destination's transport and family.
    var forceSocket: Int?
    /// `mf_process_maxfwd_header(n)` on a request without Max-Forwards: the value it gets
    /// when relayed.
    var maxForwardsToAdd: Int?
    /// `append_hf` additions, as whole header lines with CRLF.
    var appendedHeaders: [String] = []
    /// `remove_hf` removals, by header name (lower-cased).
    var removedHeaders: Set<String> = []
    /// `$avp(name)`: newest value first.
    var avps: [String: [Value]] = [:]
    /// `$xavp(name)`: records, newest first; each record a list of fields.
    var xavps: [String: [[Field]]] = [:]
    /// rr's Record-Route and Route changes (RREdits.swift).
    var rr = RREdits()
    /// `force_rport()`: replies go to the source port, and the relayed request's Via gets
    /// `rport=` as if the sender had asked for it (RFC 3581).
    var forceRPort = false
    /// `add_local_rport()`: the Via this server adds carries `rport`.
    var addLocalRPort = false
    /// `append_branch`: more targets for the next t_relay, besides the Request-URI.
    var branches: [Branch] = []
    /// kex's branch flags of branch 0 (the Request-URI's): `setbflag`, `isbflagset`.
    var branchFlags: UInt64 = 0
    /// textopsx's header-value edits (`remove_hf_value`, `assign_hf_value`...): bytes of
    /// the message replaced, or text inserted where the range is empty, in call order.
    /// Offsets are into the message's bytes as they are now: `msg_apply_changes` applies
    /// and clears them, and a relayed request or reply gets them applied.
    var splices: [Splice] = []

    /// One replacement of message bytes (see `splices`).
    struct Splice: Equatable {
        var range: Range<Int>
        var text: String
    }

    /// Whether any header edit (or a new Request-URI) waits to be written into the message.
    var hasPendingMessageChanges: Bool {
        requestURI != nil || !appendedHeaders.isEmpty || !removedHeaders.isEmpty || !splices.isEmpty
            || !rr.cuts.isEmpty || rr.appendedRoute != nil
    }

    /// The q value of the Request-URI as a target of the destination set (registrar's
    /// `lookup` gives it the best contact's), in thousandths; nil when not given.
    /// `t_load_contacts` orders the Request-URI among the branches by it.
    var requestURIQ: Int?

    /// One target of the destination set.
    struct Branch: Equatable {
        var uri: String
        var destinationURI: String?
        /// 0...1000 (thousandths), nil when not given.
        var q: Int?
    }

    struct Field: Equatable {
        var name: String
        var value: Value
    }

    // MARK: encoding: length-prefixed fields, little endian; version byte first.

    func encoded() -> [UInt8] {
        var out: [UInt8] = [7]
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String?) {
            guard let s else { u32(-1); return }
            u32(s.utf8.count)
            out.append(contentsOf: s.utf8)
        }
        func value(_ v: Value) {
            switch v {
            case .null: out.append(0)
            case .int(let i):
                out.append(1)
                withUnsafeBytes(of: Int64(i).littleEndian) { out.append(contentsOf: $0) }
            case .string(let s):
                out.append(2)
                string(s)
            }
        }
        string(requestURI)
        string(destinationURI)
        u32(maxForwardsToAdd ?? -1)
        u32(appendedHeaders.count); appendedHeaders.forEach { string($0) }
        u32(removedHeaders.count); removedHeaders.sorted().forEach { string($0) }
        u32(avps.count)
        for (name, values) in avps.sorted(by: { $0.key < $1.key }) {
            string(name)
            u32(values.count); values.forEach(value)
        }
        u32(xavps.count)
        for (name, records) in xavps.sorted(by: { $0.key < $1.key }) {
            string(name)
            u32(records.count)
            for r in records {
                u32(r.count)
                for f in r { string(f.name); value(f.value) }
            }
        }
        u32(forceSocket ?? -1)
        u32((forceRPort ? 1 : 0) | (addLocalRPort ? 2 : 0))
        u32(branches.count)
        for b in branches { string(b.uri); string(b.destinationURI); u32(b.q ?? -1) }
        rr.encode(u32, string)
        u32(Int(truncatingIfNeeded: branchFlags & 0xFFFF_FFFF))
        u32(Int(truncatingIfNeeded: branchFlags >> 32))
        u32(requestURIQ ?? -1)
        u32(splices.count)
        for s in splices { u32(s.range.lowerBound); u32(s.range.upperBound); string(s.text) }
        return out
    }

    init() {}

    /// Decodes what `encoded()` wrote; nil for anything else (a damaged buffer).
    init?(decoding bytes: UnsafeRawBufferPointer) {
        var r = Reader(bytes: bytes)
        guard r.byte() == 7 else { return nil }
        guard let ruri = r.optionalString(), let du = r.optionalString(), let mf = r.u32() else { return nil }
        requestURI = ruri.value
        destinationURI = du.value
        maxForwardsToAdd = mf == UInt32.max ? nil : Int(mf)
        guard let nAppended = r.count() else { return nil }
        for _ in 0..<nAppended { guard let s = r.string() else { return nil }; appendedHeaders.append(s) }
        guard let nRemoved = r.count() else { return nil }
        for _ in 0..<nRemoved { guard let s = r.string() else { return nil }; removedHeaders.insert(s) }
        guard let nAvps = r.count() else { return nil }
        for _ in 0..<nAvps {
            guard let name = r.string(), let n = r.count() else { return nil }
            var values: [Value] = []
            for _ in 0..<n { guard let v = r.value() else { return nil }; values.append(v) }
            avps[name] = values
        }
        guard let nX = r.count() else { return nil }
        for _ in 0..<nX {
            guard let name = r.string(), let n = r.count() else { return nil }
            var records: [[Field]] = []
            for _ in 0..<n {
                guard let fields = r.count() else { return nil }
                var rec: [Field] = []
                for _ in 0..<fields {
                    guard let f = r.string(), let v = r.value() else { return nil }
                    rec.append(Field(name: f, value: v))
                }
                records.append(rec)
            }
            xavps[name] = records
        }
        guard let socket = r.u32() else { return nil }
        forceSocket = socket == UInt32.max ? nil : Int(socket)
        guard let rportFlags = r.u32(), let nBranches = r.count() else { return nil }
        forceRPort = rportFlags & 1 != 0
        addLocalRPort = rportFlags & 2 != 0
        for _ in 0..<nBranches {
            guard let uri = r.string(), let du = r.optionalString(), let q = r.u32() else { return nil }
            branches.append(Branch(uri: uri, destinationURI: du.value, q: q == UInt32.max ? nil : Int(q)))
        }
        guard let rr = RREdits(reading: &r), let low = r.u32(), let high = r.u32(), let q = r.u32() else { return nil }
        self.rr = rr
        branchFlags = UInt64(high) << 32 | UInt64(low)
        requestURIQ = q == UInt32.max ? nil : Int(q)
        guard let nSplices = r.count() else { return nil }
        for _ in 0..<nSplices {
            guard let lo = r.u32(), let hi = r.u32(), lo <= hi, let text = r.string() else { return nil }
            splices.append(Splice(range: Int(lo)..<Int(hi), text: text))
        }
    }

    /// A bounds-checked reader over the encoded bytes.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func byte() -> UInt8? {
            guard at < bytes.count else { return nil }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func u32() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            defer { at += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }

        mutating func count() -> Int? {
            guard let n = u32(), n < 1_000_000 else { return nil }
            return Int(n)
        }

        mutating func optionalString() -> (value: String?, ok: Bool)? {
            guard let n = u32() else { return nil }
            if n == UInt32.max { return (nil, true) }
            guard at + Int(n) <= bytes.count else { return nil }
            defer { at += Int(n) }
            return (String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(n))]), as: UTF8.self), true)
        }

        mutating func string() -> String? { optionalString()?.value }

        mutating func value() -> Value? {
            switch byte() {
            case 0: return .null
            case 1:
                guard at + 8 <= bytes.count else { return nil }
                defer { at += 8 }
                return .int(Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self))))
            case 2: return string().map { .string($0) }
            default: return nil
            }
        }
    }
}
