import Script

/// `jansson_xdecode` and `jansson_xencode`: between JSON objects and `$xavp` records.
extension JanssonModule {
    /// `jansson_xdecode(json, name)`: an object becomes one record of `$xavp(name)`, added in
    /// front; an array adds one record per element, in order (so the last element ends in
    /// front; an element that is not an object gives an empty record). Members become fields
    /// with the values `jansson_get` gives; nested objects and arrays stay JSON text.
    static func decode(_ ctx: inout ExecContext, _ args: CallArgs) -> Int {
        let name = args.string(1, &ctx)
        guard let document = parse(args.string(0, &ctx), &ctx, "jansson_xdecode") else { return -1 }
        let root = document.ref
        var added: [[ScriptEdits.Field]] = []
        if root.isObject {
            added.append(record(root))
        } else {
            var i = 0
            while let element = root.element(i) {
                added.append(record(element))
                i += 1
            }
        }
        let m = ctx.message
        var records = m.edits.xavps[name] ?? []
        for r in added { records.insert(r, at: 0) }
        if !records.isEmpty { m.edits.xavps[name] = records }
        return 1
    }

    /// An object's members as a record. Fields are kept newest first, as assignments add
    /// them, and Kamailio adds members in order: the last member comes first.
    static func record(_ object: JSONRef) -> [ScriptEdits.Field] {
        guard object.isObject else { return [] }
        return object.members.reversed().map { ScriptEdits.Field(name: $0.key, value: $0.value.scriptValue) }
    }

    /// `jansson_xencode(name, result)`: the first record of `$xavp(name)` as a JSON object,
    /// its fields in their order, with libjansson's default spacing (`{"a": 1, "b": "x"}`), as
    /// Kamailio writes it. Fails when there is no such xavp.
    static func encode(_ ctx: inout ExecContext, _ args: CallArgs) -> Int {
        let name = args.string(0, &ctx)
        guard let first = ctx.message.edits.xavps[name]?.first else {
            ctx.message.process.log.debug("jansson", "jansson_xencode: no $xavp(\(name))")
            return -1
        }
        guard let object = JSONValue.object() else { return -1 }
        for field in first {
            let value: JSONValue?
            switch field.value {
            case .null: value = JSONValue.null()
            case .int(let n): value = JSONValue.integer(Int64(n))
            case .string(let s): value = JSONValue.string(s)
            }
            guard let value, object.ref.setMember(field.name, value) else {
                ctx.message.process.log.error("jansson", "jansson_xencode: cannot encode the field '\(field.name)'")
                return -1
            }
        }
        args.assign(1, .string(object.ref.text(.spaced)), &ctx)
        return 1
    }
}
