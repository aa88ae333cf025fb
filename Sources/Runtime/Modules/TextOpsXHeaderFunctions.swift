import SIP
import Script

/// textopsx's header-value functions: they add edits (`ScriptEdits.splices`, or whole
/// headers to `appendedHeaders`) that the relayed message carries and `msg_apply_changes`
/// writes in; like Kamailio's, they look at the message as it is, so a later call does not
/// see an earlier one's change until msg_apply_changes. What each writes, byte for byte,
/// is what Kamailio 5.6.3 was observed to write on loopback (docs/modules/textopsx.md).
enum TextOpsXHeaderFunctions {
    /// What a function accepts in its selector, checked at load time.
    struct Rules: Sendable {
        var index = true
        var param = true
        /// `[*]` without a parameter.
        var allWithoutParam = true
    }

    static var specs: [FunctionSpec] {
        let anySelector = Rules(), assigning = Rules(allWithoutParam: false)
        let position = Rules(param: false, allWithoutParam: false), nameOnly = Rules(index: false, param: false)
        return [
            spec("remove_hf_value", anySelector) { s, _, ctx in remove(s, split: true, &ctx) },
            spec("remove_hf_value2", anySelector) { s, _, ctx in remove(s, split: false, &ctx) },
            spec("assign_hf_value", assigning, valued: true) { s, v, ctx in assign(s, v, split: true, &ctx) },
            spec("assign_hf_value2", assigning, valued: true) { s, v, ctx in assign(s, v, split: false, &ctx) },
            spec("append_hf_value", position, valued: true) { s, v, ctx in add(s, v, after: true, &ctx) },
            spec("insert_hf_value", position, valued: true) { s, v, ctx in add(s, v, after: false, &ctx) },
            spec("include_hf_value", nameOnly, valued: true) { s, v, ctx in include(s.name, v, &ctx) },
            spec("exclude_hf_value", nameOnly, valued: true) { s, v, ctx in exclude(s.name, v, &ctx) },
            spec("hf_value_exists", nameOnly, valued: true) { s, v, ctx in
                let values = HeaderValues(s.name, in: ctx.message.message, split: true)
                return values.values.contains { values.text($0).caseInsensitiveEquals(v) } ? 1 : -1
            },
        ]
    }

    /// A function taking a literal selector (parsed at load time, as Kamailio does) and,
    /// when `valued`, a value that may hold variables.
    static func spec(_ name: String, _ rules: Rules, valued: Bool = false,
                     _ body: @escaping @Sendable (HeaderValueSelector, String, inout ExecContext) -> Int) -> FunctionSpec {
        FunctionSpec(name, args: valued ? [.string, .string] : [.string], fixup: { fc in
            guard let text = fc.staticString(0) else {
                fc.error("the header must be written as a literal string (Kamailio parses it when the config loads)", argument: 0)
                return
            }
            switch HeaderValueSelector.parse(text) {
            case .failure(let e): fc.error(e.message, argument: 0)
            case .success(let s):
                if !rules.index && s.index != .unspecified { fc.error("\(name) takes a header name without an index", argument: 0) }
                if !rules.param && s.param != nil { fc.error("\(name) takes no header parameter", argument: 0) }
                if !rules.allWithoutParam && s.index == .all && s.param == nil {
                    fc.error("\(name) does not take [*] without a parameter", argument: 0)
                }
                fc.payload = s
            }
        }) { ctx, args in
            guard let selector = args.payload as? HeaderValueSelector else { return -1 }
            return body(selector, valued ? args.string(1, &ctx) : "", &ctx)
        }
    }

    /// remove_hf_value(2): the selected values leave their lists (a field left empty goes
    /// whole), or, with a parameter, that parameter leaves each selected value. -1 when
    /// nothing matched.
    static func remove(_ s: HeaderValueSelector, split: Bool, _ ctx: inout ExecContext) -> Int {
        let values = HeaderValues(s.name, in: ctx.message.message, split: split)
        let picked = s.pick(values.values)
        var out: [ScriptEdits.Splice] = []
        if let name = s.param {
            out = picked.compactMap { v in values.param(name, of: v).map { ScriptEdits.Splice(range: $0.range, text: "") } }
        } else {
            for (f, field) in values.fields.enumerated() {
                let mine = picked.filter { $0.field == f }
                if mine.isEmpty { continue }
                if mine.count == values.counts[f] {
                    out.append(ScriptEdits.Splice(range: field.lineRange, text: ""))
                } else {
                    out += mine.map(values.removal)
                }
            }
        }
        ctx.message.edits.splices += out
        return out.isEmpty ? -1 : 1
    }

    /// assign_hf_value(2): each selected value becomes `text`, or, with a parameter, gets
    /// `;param=text` (`;param` for an empty text) in place of its own or after its end.
    static func assign(_ s: HeaderValueSelector, _ text: String, split: Bool, _ ctx: inout ExecContext) -> Int {
        let values = HeaderValues(s.name, in: ctx.message.message, split: split)
        let picked = s.pick(values.values)
        guard !picked.isEmpty else { return -1 }
        for v in picked {
            if let name = s.param {
                let param = ";" + name + (text.isEmpty ? "" : "=" + text)
                let old = values.param(name, of: v)
                let range = old?.range ?? v.range.upperBound..<v.range.upperBound
                ctx.message.edits.splices.append(ScriptEdits.Splice(range: range, text: param))
            } else {
                ctx.message.edits.splices.append(ScriptEdits.Splice(range: v.range, text: text))
            }
        }
        return 1
    }

    /// append_hf_value / insert_hf_value: `,text` after the indexed value (append), or
    /// `text,` before it (`,text` after the one before it, insert). Without an index, or
    /// when there is no such value, a new `name: text` header: after the last header
    /// (append, or insert when the message has none of that name), or above the first of
    /// that name (insert).
    static func add(_ s: HeaderValueSelector, _ text: String, after: Bool, _ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        let values = HeaderValues(s.name, in: m.message, split: true)
        if s.index != .unspecified, let v = s.pick(values.values).first {
            if after {
                m.edits.splices.append(ScriptEdits.Splice(range: v.range.upperBound..<v.range.upperBound, text: "," + text))
            } else if let prev = values.previous(v) {
                m.edits.splices.append(ScriptEdits.Splice(range: prev.range.upperBound..<prev.range.upperBound, text: "," + text))
            } else {
                m.edits.splices.append(ScriptEdits.Splice(range: v.range.lowerBound..<v.range.lowerBound, text: text + ","))
            }
            return 1
        }
        let line = "\(s.name): \(text)\r\n"
        if !after, let first = values.fields.first {
            m.edits.splices.append(ScriptEdits.Splice(range: first.lineRange.lowerBound..<first.lineRange.lowerBound, text: line))
        } else {
            m.edits.appendedHeaders.append(line)
        }
        return 1
    }

    /// include_hf_value: `,text` after the last value unless a value equals it
    /// (case-insensitive); a new header when there is none of that name.
    static func include(_ name: String, _ text: String, _ ctx: inout ExecContext) -> Int {
        let m = ctx.message
        let values = HeaderValues(name, in: m.message, split: true)
        if values.values.contains(where: { values.text($0).caseInsensitiveEquals(text) }) { return 1 }
        if let last = values.values.last {
            m.edits.splices.append(ScriptEdits.Splice(range: last.range.upperBound..<last.range.upperBound, text: "," + text))
        } else if let field = values.fields.last {
            m.edits.splices.append(ScriptEdits.Splice(range: field.valueRange, text: text))
        } else {
            m.edits.appendedHeaders.append("\(name): \(text)\r\n")
        }
        return 1
    }

    /// exclude_hf_value: every value equal to `text` (case-insensitive) leaves its list, a
    /// field left empty goes whole. 1 whether or not one was there, as in Kamailio.
    static func exclude(_ name: String, _ text: String, _ ctx: inout ExecContext) -> Int {
        let values = HeaderValues(name, in: ctx.message.message, split: true)
        let matching = values.values.filter { values.text($0).caseInsensitiveEquals(text) }
        for (f, field) in values.fields.enumerated() {
            let mine = matching.filter { $0.field == f }
            if mine.isEmpty { continue }
            if mine.count == values.counts[f] {
                ctx.message.edits.splices.append(ScriptEdits.Splice(range: field.lineRange, text: ""))
            } else {
                ctx.message.edits.splices += mine.map(values.removal)
            }
        }
        return 1
    }
}
