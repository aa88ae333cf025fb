import Script

/// jansson: Kamailio's JSON functions, on libjansson. Every function returns 1, or -1 when
/// the JSON does not parse, the path finds nothing or cannot be written, or a value does not
/// fit its type; the result variable is then left as it was. Literal arguments that can
/// never work (an unknown type name, JSON that does not parse, a malformed path) are
/// load-time errors. `docs/modules/jansson.md` is the manual.
enum JanssonModule {
    static var spec: ModuleSpec {
        // (path or document, document or path, result) and (type, path, value, result).
        let read3: [ArgKind] = [.string, .string, .variable]
        let write4: [ArgKind] = [.string, .string, .string, .variable]
        return ModuleSpec(name: "jansson", functions: [
            FunctionSpec("jansson_get", args: read3, fixup: checkRead(path: 0, json: 1)) { ctx, args in
                read(&ctx, args, path: 0, json: 1, function: "jansson_get") { $0.scriptValue }
            },
            // The older spelling, with the document first.
            FunctionSpec("jansson_get_field", args: read3, fixup: checkRead(path: 1, json: 0)) { ctx, args in
                read(&ctx, args, path: 1, json: 0, function: "jansson_get_field") { $0.scriptValue }
            },
            FunctionSpec("jansson_array_size", args: read3, fixup: checkRead(path: 0, json: 1)) { ctx, args in
                read(&ctx, args, path: 0, json: 1, function: "jansson_array_size") { $0.isArray ? .int($0.count) : nil }
            },
            FunctionSpec("jansson_set", args: write4, fixup: checkWrite) { ctx, args in
                write(&ctx, args, append: false)
            },
            FunctionSpec("jansson_append", args: write4, fixup: checkWrite) { ctx, args in
                write(&ctx, args, append: true)
            },
            FunctionSpec("jansson_xdecode", args: [.string, .string], fixup: checkDecode) { ctx, args in
                decode(&ctx, args)
            },
            FunctionSpec("jansson_xencode", args: [.string, .variable]) { ctx, args in
                encode(&ctx, args)
            },
        ])
    }

    /// What the fixups worked out from literal arguments.
    struct Fixed: Sendable {
        var path: JSONPath?
        var type: JSONType?
    }

    /// `jansson_get`, `jansson_get_field`, `jansson_array_size`: parses the document, finds
    /// the path and stores what `convert` makes of it (nil: the function fails).
    static func read(
        _ ctx: inout ExecContext, _ args: CallArgs, path p: Int, json j: Int, function: String,
        convert: (JSONRef) -> Value?
    ) -> Int {
        let log = ctx.message.process.log
        let pathText = args.string(p, &ctx)
        guard let document = parse(args.string(j, &ctx), &ctx, function) else { return -1 }
        guard let path = (args.payload as? Fixed)?.path ?? parsePath(pathText, &ctx, function) else { return -1 }
        guard let found = document.ref.find(path) else {
            log.debug("jansson", "\(function): nothing at '\(pathText)'")
            return -1
        }
        guard let value = convert(found) else {
            log.error("jansson", "\(function): the value at '\(pathText)' is not an array")
            return -1
        }
        args.assign(2, value, &ctx)
        return 1
    }

    /// `jansson_set` and `jansson_append`: the result variable's JSON (`{}` when it holds no
    /// string) with the value stored at the path, written back as compact JSON.
    static func write(_ ctx: inout ExecContext, _ args: CallArgs, append: Bool) -> Int {
        let function = append ? "jansson_append" : "jansson_set"
        let log = ctx.message.process.log
        let fixed = args.payload as? Fixed
        let typeName = args.string(0, &ctx)
        let pathText = args.string(1, &ctx)
        let valueText = args.string(2, &ctx)
        guard let type = fixed?.type ?? JSONType(named: typeName) else {
            log.error("jansson", "\(function): unknown type '\(typeName)' (\(JSONType.names))")
            return -1
        }
        let value: JSONValue
        do {
            value = try type.value(from: valueText)
        } catch {
            log.error("jansson", "\(function): \(error)")
            return -1
        }
        var current = "{}"
        if case .string(let s) = args.value(3, &ctx) { current = s }
        guard let document = parse(current, &ctx, function) else { return -1 }
        guard let path = fixed?.path ?? parsePath(pathText, &ctx, function) else { return -1 }
        do {
            try document.ref.store(value, at: path, append: append)
        } catch {
            log.error("jansson", "\(function): cannot store at '\(pathText)': \(error)")
            return -1
        }
        args.assign(3, .string(document.ref.text(.compact)), &ctx)
        return 1
    }

    static func parse(_ text: String, _ ctx: inout ExecContext, _ function: String) -> JSONValue? {
        do {
            return try JSONValue(parsing: text)
        } catch {
            ctx.message.process.log.error("jansson", "\(function): cannot parse '\(text.prefix(200))': \(error)")
            return nil
        }
    }

    static func parsePath(_ text: String, _ ctx: inout ExecContext, _ function: String) -> JSONPath? {
        do {
            return try JSONPath(text)
        } catch {
            ctx.message.process.log.error("jansson", "\(function): malformed path '\(text)': \(error)")
            return nil
        }
    }
}
