/// A format written as `name=value;name=value` (acc's `log_extra` and `db_extra`), taken
/// apart into its fields once, when the module reads its parameters: each value is a format
/// of its own (usually one variable), so it can be read alone, and read as NULL.
extension CompiledFormat {
    /// The fields in order; nil when one has no `=` or an empty name. Names are trimmed;
    /// a `;` or `=` inside a variable (`$hdr(a=b)`) does not split.
    public func fields() -> [(name: String, value: CompiledFormat)]? {
        var fields: [(name: String, value: CompiledFormat)] = []
        var name = ""
        var value: [FormatPart] = []
        var inValue = false
        func close() -> Bool {
            let trimmed = name.trimmingSpaces()
            // An empty field (`;;`, a trailing `;`) is allowed; a name without `=` is not.
            if !inValue { return trimmed.isEmpty }
            guard !trimmed.isEmpty else { return false }
            fields.append((trimmed, CompiledFormat(parts: value)))
            return true
        }
        for part in parts {
            guard case .literal(let text) = part else {
                guard inValue else { return nil }
                value.append(part)
                continue
            }
            var pending = ""
            for c in text {
                if c == ";" {
                    if inValue, !pending.isEmpty { value.append(.literal(pending)) } else if !inValue { name += pending }
                    pending = ""
                    guard close() else { return nil }
                    name = ""
                    value = []
                    inValue = false
                } else if c == "=" && !inValue {
                    name += pending
                    pending = ""
                    inValue = true
                } else {
                    pending.append(c)
                }
            }
            if inValue { if !pending.isEmpty { value.append(.literal(pending)) } } else { name += pending }
        }
        guard close() else { return nil }
        return fields
    }
}

extension Program {
    /// A field's value for the message `ctx` holds; nil when it is one variable that is
    /// null (`$hdr(X)` of a missing header), which a database column records as NULL.
    public func formatOrNull(_ compiled: CompiledFormat, _ ctx: inout ExecContext) -> String? {
        if compiled.parts.count == 1, case .value(let e) = compiled.parts[0] {
            let v = evaluate(e, &ctx)
            return v.isNull ? nil : v.description
        }
        return format(compiled.parts, &ctx)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
