import CJansson
import Script

/// JSON-RPC 2.0 over the RPC method table, as Kamailio's jsonrpcs module speaks it: a request
/// object (`jsonrpc`, `method`, `params` as an array, or an object whose values are taken in
/// order, `id`) or a batch of them; a response with `result` or `error` and the same `id`. A
/// request without `id` is a notification: it runs, and nothing is answered.
public enum JSONRPC {
    /// A request's id, echoed back as it came.
    public enum ID: Equatable, Sendable {
        case int(Int)
        case string(String)
        case null
    }

    public struct Request: Equatable, Sendable {
        public var method: String
        public var params: [RPCValue]
        /// nil for a notification.
        public var id: ID?
        /// The FIFO transport's `reply_name`: the FIFO the answer goes to.
        public var replyName: String?
    }

    /// One entry of a document: a request to run, or one that is already an error.
    public enum Entry: Equatable, Sendable {
        case request(Request)
        case invalid(RPCFault, id: ID?)
    }

    /// A parsed document: one entry, or a batch.
    public struct Document: Equatable, Sendable {
        public var entries: [Entry]
        public var isBatch: Bool
    }

    public static let parseError = RPCFault(-32700, "Parse error")
    public static let invalidRequest = RPCFault(-32600, "Invalid Request")
    /// Kamailio answers an unknown method with 500 "Method Not Found".
    public static let methodNotFound = RPCFault(500, "Method Not Found")

    /// Parses a document; a text that is not JSON, or not an object or array, is a fault
    /// (answered with id null).
    public static func parse(_ text: String) -> Result<Document, RPCFault> {
        let doc: JSONValue
        do { doc = try JSONValue(parsing: text) } catch {
            return .failure(RPCFault(parseError.code, "Parse error: \(error.description)"))
        }
        let root = doc.ref
        if root.isArray {
            guard root.count > 0 else { return .failure(invalidRequest) }
            return .success(Document(entries: (0..<root.count).map { entry(root.element($0)!) }, isBatch: true))
        }
        return .success(Document(entries: [entry(root)], isBatch: false))
    }

    private static func entry(_ object: JSONRef) -> Entry {
        guard object.isObject else { return .invalid(invalidRequest, id: .null) }
        var id: ID?
        if let raw = object.member("id") {
            switch raw.type {
            case JSON_INTEGER: id = .int(Int(json_integer_value(raw.raw)))
            case JSON_STRING: id = .string(raw.scriptValue.stringValue)
            case JSON_NULL: id = .null
            default: return .invalid(invalidRequest, id: .null)
            }
        }
        guard let method = object.member("method"), method.type == JSON_STRING else {
            return .invalid(RPCFault(invalidRequest.code, "Invalid Request: no method"), id: id ?? .null)
        }
        if let version = object.member("jsonrpc"), version.scriptValue.stringValue != "2.0" {
            return .invalid(RPCFault(invalidRequest.code, "Invalid Request: jsonrpc must be \"2.0\""), id: id ?? .null)
        }
        var params: [RPCValue] = []
        if let p = object.member("params") {
            if p.isArray {
                params = (0..<p.count).map { value(p.element($0)!, depth: 0) }
            } else if p.isObject {
                // Kamailio's RPC parameters are positional: names are ignored, order kept.
                params = p.members.map { value($0.value, depth: 0) }
            } else {
                return .invalid(RPCFault(invalidRequest.code, "Invalid Request: params must be an array or an object"), id: id ?? .null)
            }
        }
        let replyName = object.member("reply_name").map { $0.scriptValue.stringValue }
        return .request(Request(method: method.scriptValue.stringValue, params: params, id: id, replyName: replyName))
    }

    private static func value(_ v: JSONRef, depth: Int) -> RPCValue {
        switch v.type {
        case JSON_INTEGER: return .int(Int(json_integer_value(v.raw)))
        case JSON_REAL: return .double(json_real_value(v.raw))
        case JSON_TRUE: return .int(1)
        case JSON_FALSE: return .int(0)
        case JSON_STRING: return .string(v.scriptValue.stringValue)
        case JSON_ARRAY where depth < 16: return .array((0..<v.count).map { value(v.element($0)!, depth: depth + 1) })
        case JSON_OBJECT where depth < 16: return .structure(v.members.map { RPCMember($0.key, value($0.value, depth: depth + 1)) })
        default: return .string(v.text(.compact))
        }
    }
}
