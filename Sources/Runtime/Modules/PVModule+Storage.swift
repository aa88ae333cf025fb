import Script

/// `$avp(name)` and `$xavp(name=>field)`: per-message storage (bound to the transaction
/// once tm keeps one), with Kamailio's stack semantics: an assignment adds a value in
/// front, a read gives the newest, `[n]` indexes from the newest, `$null` deletes.
extension PVModule {
    static let storageVariables: [VariableClassSpec] = [
        VariableClassSpec("avp", nameRule: .required, get: { ctx, name in
            let values = ctx.message.edits.avps[name.name ?? ""] ?? []
            switch name.index {
            case .at(let i)?: return i >= 0 && i < values.count ? values[i] : .null
            default: return values.first ?? .null
            }
        }, set: { ctx, name, value in
            let key = name.name ?? ""
            let m = ctx.message
            if value.isNull {
                if case .all? = name.index { m.edits.avps[key] = nil } else if !(m.edits.avps[key]?.isEmpty ?? true) {
                    m.edits.avps[key]!.removeFirst()
                }
                return true
            }
            if case .at(let i)? = name.index {
                guard var values = m.edits.avps[key], i >= 0, i < values.count else { return false }
                values[i] = value
                m.edits.avps[key] = values
            } else {
                m.edits.avps[key, default: []].insert(value, at: 0)
            }
            return true
        }),
        VariableClassSpec("xavp", nameRule: .required, validateName: { n in
            n.isEmpty ? "empty $xavp name" : nil
        }, get: { ctx, name in
            let ref = XavpName(name.name ?? "")
            guard let records = ctx.message.edits.xavps[ref.root] else { return .null }
            let i = ref.index ?? 0
            guard i >= 0 && i < records.count else { return .null }
            guard let field = ref.field else { return .string("<xavp:\(ref.root)>") }
            return records[i].first { $0.name == field }?.value ?? .null
        }, set: { ctx, name, value in
            let ref = XavpName(name.name ?? "")
            let m = ctx.message
            var records = m.edits.xavps[ref.root] ?? []
            guard let field = ref.field else {
                // `$xavp(r) = $null` deletes the list; `$xavp(r[i]) = $null` one record.
                guard value.isNull else { return false }
                if let i = ref.index, i < records.count { records.remove(at: i) } else { records = [] }
                m.edits.xavps[ref.root] = records.isEmpty ? nil : records
                return true
            }
            if let i = ref.index {
                // `$xavp(r[i]=>f) = v`: set the field in an existing record.
                guard i >= 0 && i < records.count else { return false }
                records[i].removeAll { $0.name == field }
                if !value.isNull { records[i].insert(ScriptEdits.Field(name: field, value: value), at: 0) }
            } else if !value.isNull {
                // Without an index, Kamailio starts a new record in front.
                records.insert([ScriptEdits.Field(name: field, value: value)], at: 0)
            } else if !records.isEmpty {
                records[0].removeAll { $0.name == field }
            }
            m.edits.xavps[ref.root] = records
            return true
        }),
    ]

    /// `root[index]=>field`, with index and field optional.
    struct XavpName {
        var root: String
        var index: Int?
        var field: String?

        init(_ text: String) {
            let (head, field) = PVModule.splitXavp(text)
            self.field = field
            if head.hasSuffix("]"), let open = head.lastIndex(of: "[") {
                root = String(head[..<open])
                index = Int(head[head.index(after: open)..<head.index(before: head.endIndex)])
            } else {
                root = head
            }
        }
    }

    /// `root=>field` or `root`.
    static func splitXavp(_ name: String) -> (String, String?) {
        let bytes = Array(name.utf8)
        guard let i = bytes.indices.dropLast().first(where: { bytes[$0] == UInt8(ascii: "=") && bytes[$0 + 1] == UInt8(ascii: ">") })
        else { return (name, nil) }
        return (String(decoding: bytes[..<i], as: UTF8.self).trimmingCharacters(in: " "),
                String(decoding: bytes[(i + 2)...], as: UTF8.self).trimmingCharacters(in: " "))
    }
}
