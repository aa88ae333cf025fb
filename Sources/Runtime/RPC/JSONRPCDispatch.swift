/// Runs a JSON-RPC document against the method table: what the jsonrpcs FIFO and datagram
/// processes and `jsonrpc_dispatch()` (HTTP) share.
struct JSONRPCDispatch {
    let methods: RPCMethodTable
    let process: ProcessContext
    let pretty: Bool

    struct Answer {
        /// The response document; nil when every request was a notification.
        var text: String?
        /// The FIFO transport's `reply_name` of the (first) request.
        var replyName: String?
        /// The document did not parse (HTTP answers it with status 500 as Kamailio does,
        /// with a JSON-RPC error body).
        var parseFailed = false
    }

    func answer(_ text: String, from source: String) -> Answer {
        let document: JSONRPC.Document
        switch JSONRPC.parse(text) {
        case .failure(let fault):
            process.log.warning("rpc", "\(source): \(fault.message)")
            return Answer(text: JSONRPC.response(to: .null, .failure(fault), pretty: pretty), parseFailed: true)
        case .success(let d):
            document = d
        }
        var responses: [String] = []
        var replyName: String?
        for entry in document.entries {
            switch entry {
            case .invalid(let fault, let id):
                process.log.warning("rpc", "\(source): \(fault.message)")
                if let r = JSONRPC.response(to: id, .failure(fault), pretty: pretty) { responses.append(r) }
            case .request(let request):
                replyName = replyName ?? request.replyName
                var outcome = methods.call(request.method, params: request.params, process: process)
                if case .failure(let fault) = outcome {
                    process.log.info("rpc", "\(source): \(request.method): \(fault.code) \(fault.message)")
                    if methods.method(named: request.method) == nil { outcome = .failure(JSONRPC.methodNotFound) }
                }
                if let r = JSONRPC.response(to: request.id, outcome, pretty: pretty) { responses.append(r) }
            }
        }
        let text = document.isBatch ? JSONRPC.batch(responses, pretty: pretty) : responses.first
        return Answer(text: text, replyName: replyName)
    }
}

/// `jsonrpc_exec`'s answer, as `$jsonrpl(code)`, `$jsonrpl(text)`, `$jsonrpl(body)` read it.
struct JSONRPCExecReply {
    var code: Int
    var text: String
    var body: String
}
