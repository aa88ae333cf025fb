/// JSON-RPC responses, written as Kamailio's jsonrpcs writes them: `pretty_format` (its
/// default) indents with tabs and puts a tab after each colon; without it, no blanks.
extension JSONRPC {
    /// The response to one request, or nil for a notification (no id).
    public static func response(to id: ID?, _ outcome: Result<RPCReply, RPCFault>, pretty: Bool) -> String? {
        guard let id else { return nil }
        var members = [RPCMember("jsonrpc", .string("2.0"))]
        switch outcome {
        case .success(let reply):
            members.append(RPCMember("result", reply.jsonResult ?? .structure([])))
        case .failure(let fault):
            members.append(RPCMember("error", .structure([RPCMember("code", .int(fault.code)),
                                                          RPCMember("message", .string(fault.message))])))
        }
        var out = JSONWriter(pretty: pretty)
        out.object(members, id: id)
        return out.text
    }

    /// Joins the responses of a batch; nil when every entry was a notification.
    public static func batch(_ responses: [String], pretty: Bool) -> String? {
        guard !responses.isEmpty else { return nil }
        return "[" + responses.joined(separator: pretty ? ", " : ",") + "]"
    }
}

/// Writes an RPC value as JSON text.
struct JSONWriter {
    let pretty: Bool
    private(set) var text = ""
    private var depth = 0

    init(pretty: Bool) { self.pretty = pretty }

    /// The response object: its members, then `id` last (where Kamailio puts it).
    mutating func object(_ members: [RPCMember], id: JSONRPC.ID) {
        var all = members.map { ($0.name, Optional($0.value)) }
        all.append(("id", nil))
        text += "{"
        depth += 1
        for (i, (name, value)) in all.enumerated() {
            text += i == 0 ? "" : ","
            newline()
            string(name)
            text += pretty ? ":\t" : ":"
            if let value { write(value) } else { write(id) }
        }
        depth -= 1
        newline()
        text += "}"
    }

    private mutating func write(_ id: JSONRPC.ID) {
        switch id {
        case .int(let i): text += String(i)
        case .string(let s): string(s)
        case .null: text += "null"
        }
    }

    mutating func write(_ value: RPCValue) {
        switch value {
        case .int(let i): text += String(i)
        case .double(let d): text += d.isFinite ? String(d) : "null"
        case .string(let s): string(s)
        case .structure(let members):
            text += "{"
            depth += 1
            for (i, m) in members.enumerated() {
                text += i == 0 ? "" : ","
                newline()
                string(m.name)
                text += pretty ? ":\t" : ":"
                write(m.value)
            }
            depth -= 1
            if !members.isEmpty { newline() }
            text += "}"
        case .array(let items):
            text += "["
            for (i, item) in items.enumerated() {
                if i > 0 { text += pretty ? ", " : "," }
                write(item)
            }
            text += "]"
        }
    }

    private mutating func newline() {
        guard pretty else { return }
        text += "\n" + String(repeating: "\t", count: depth)
    }

    private mutating func string(_ s: String) { JSONText.appendString(s, to: &text) }
}
