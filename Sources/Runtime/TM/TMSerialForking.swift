import Script

/// tm's serial forking by q value: `t_load_contacts([mode])` turns the destination set
/// (the Request-URI and the branches, e.g. after registrar's `lookup`) into an ordered
/// contact list, and `t_next_contacts()` puts the next group of equal q back as the
/// destination set, for the next `t_relay` (docs/modules/tm.md#serial-forking).
///
/// The list is the XAVP named by tm's `contacts_avp` parameter, as in Kamailio, so it is
/// part of the message's script edits: before the transaction exists it lives in the
/// receiver's context; `t_relay` stores the edits with the transaction in the arena (its
/// `scriptState` buffer), and a failure route starts from that copy, so each
/// `t_next_contacts` there sees what the previous one left.
enum TMSerialForking {
    /// Kamailio's mark on the last contact of a q group in the list (the list's very last
    /// contact carries none).
    static let groupEnd = 4

    static var functions: [FunctionSpec] {
        [
            FunctionSpec("t_load_contacts", args: [.int], minArgs: 0, allowedRoutes: [.request, .failure]) { ctx, args in
                let mode = args.count > 0 ? args.int(0, &ctx) : 0
                guard let mode, mode == 0 || mode == 1 else {
                    ctx.message.process.log.error("tm", "t_load_contacts: mode must be 0 (by q) or 1 (proportional to q)")
                    return -1
                }
                return loadContacts(ctx.message, proportional: mode == 1)
            },
            FunctionSpec("t_next_contacts", allowedRoutes: [.request, .failure]) { ctx, _ in
                nextContacts(ctx.message)
            },
            FunctionSpec("t_next_contact_flow", status: .notYetAvailable(
                "it needs the +sip.instance flows of contact_flows_avp, which t_load_contacts does not record")) { _, _ in -1 },
        ]
    }

    /// The XAVP name, or nil (logged) when `contacts_avp` is not set.
    static func listName(_ m: MessageContext, _ function: String) -> String? {
        let name = m.process.tm?.settings.contactsAVP ?? ""
        guard !name.isEmpty else {
            m.process.log.error("tm", "\(function): serial forking is off: set tm's contacts_avp (and contact_flows_avp) parameter")
            return nil
        }
        return name
    }

    /// One target of the destination set, with its q (-1: none given).
    struct Target {
        var uri: String
        var destinationURI: String?
        var q: Int
        var flags: UInt64
    }

    static func loadContacts(_ m: MessageContext, proportional: Bool) -> Int {
        guard let name = listName(m, "t_load_contacts") else { return -1 }
        // Only the Request-URI: nothing to order, and nothing is stored.
        guard !m.edits.branches.isEmpty else { return 1 }
        var targets = [Target(uri: m.requestURI, destinationURI: m.edits.destinationURI, q: m.edits.requestURIQ ?? -1,
                              flags: m.edits.branchFlags)]
        targets += m.edits.branches.map { Target(uri: $0.uri, destinationURI: $0.destinationURI, q: $0.q ?? -1, flags: 0) }
        let ordered = proportional ? byWeight(targets) : byQ(targets)
        var records: [[ScriptEdits.Field]] = []
        for (i, t) in ordered.enumerated() {
            let last = i == ordered.count - 1
            let endsGroup = !last && (proportional || ordered[i + 1].q != t.q)
            var record = [ScriptEdits.Field(name: "uri", value: .string(t.uri))]
            if let du = t.destinationURI { record.append(.init(name: "dst_uri", value: .string(du))) }
            record.append(.init(name: "flags", value: .int(Int(truncatingIfNeeded: t.flags))))
            record.append(.init(name: "q_flag", value: .int(endsGroup ? groupEnd : 0)))
            records.append(record)
        }
        m.edits.xavps[name] = records
        m.edits.branches = []
        return 1
    }

    /// Highest q first; among equal q, the later target of the destination set first
    /// (Kamailio's order: a stable ascending sort, read from the end).
    static func byQ(_ targets: [Target]) -> [Target] {
        let ascending = targets.enumerated().sorted { a, b in a.element.q != b.element.q ? a.element.q < b.element.q : a.offset < b.offset }
        return ascending.reversed().map(\.element)
    }

    /// Mode 1: targets with q > 0 in a random order where each comes next with a chance
    /// proportional to its q; those with q <= 0 (or none) after them, by `byQ`.
    static func byWeight(_ targets: [Target]) -> [Target] {
        var pool = targets.filter { $0.q > 0 }
        var out: [Target] = []
        while !pool.isEmpty {
            var pick = Int.random(in: 0..<pool.reduce(0) { $0 + $1.q })
            let i = pool.firstIndex { t in
                if pick < t.q { return true }
                pick -= t.q
                return false
            } ?? pool.count - 1
            out.append(pool.remove(at: i))
        }
        return out + byQ(targets.filter { $0.q <= 0 })
    }

    /// The next group: its first contact becomes the Request-URI (and `$du`), the others
    /// join the destination set as branches; the group leaves the list (and the XAVP goes
    /// when it is empty). 1; -2 when the list is empty; -1 when the feature is off.
    static func nextContacts(_ m: MessageContext) -> Int {
        guard let name = listName(m, "t_next_contacts") else { return -1 }
        guard var records = m.edits.xavps[name], !records.isEmpty else { return -2 }
        var group: [[ScriptEdits.Field]] = []
        while !records.isEmpty {
            let record = records.removeFirst()
            group.append(record)
            if int(record, "q_flag") & groupEnd != 0 { break }
        }
        m.edits.xavps[name] = records.isEmpty ? nil : records
        for (i, record) in group.enumerated() {
            guard case .string(let uri)? = field(record, "uri") else {
                m.process.log.error("tm", "t_next_contacts: a contact in $xavp(\(name)) has no uri; skipped")
                continue
            }
            var du: String?
            if case .string(let s)? = field(record, "dst_uri") { du = s }
            if i == 0 {
                m.edits.requestURI = uri
                m.edits.destinationURI = du
                m.edits.requestURIQ = nil
                m.edits.branchFlags = UInt64(truncatingIfNeeded: int(record, "flags"))
            } else {
                m.edits.branches.append(ScriptEdits.Branch(uri: uri, destinationURI: du, q: nil))
            }
        }
        return 1
    }

    static func field(_ record: [ScriptEdits.Field], _ name: String) -> Value? {
        record.first { $0.name == name }?.value
    }

    static func int(_ record: [ScriptEdits.Field], _ name: String) -> Int {
        if case .int(let n)? = field(record, name) { return n }
        if case .string(let s)? = field(record, name) { return Int(s) ?? 0 }
        return 0
    }
}
