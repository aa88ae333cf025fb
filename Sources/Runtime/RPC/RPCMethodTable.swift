/// One RPC call being answered: its parameters and the process answering it.
public struct RPCCall {
    public let method: String
    public let params: [RPCValue]
    /// The process the call runs in (a ctl handler, a JSONRPCS process, a tcp receiver
    /// running `jsonrpc_dispatch`): its arena views are what methods read and change.
    public let process: ProcessContext

    /// Parameter `index` as text; `name` is what a fault calls it.
    public func string(_ index: Int, _ name: String) throws(RPCFault) -> String {
        guard index < params.count else { throw .missing(name) }
        guard let s = params[index].text else { throw .badType(name, expected: "a string") }
        return s
    }

    /// Parameter `index` as text, or nil when the caller left it out.
    public func optionalString(_ index: Int, _ name: String) throws(RPCFault) -> String? {
        index < params.count ? try string(index, name) : nil
    }

    /// Parameter `index` as an integer (an int, or a string that spells one).
    public func int(_ index: Int, _ name: String) throws(RPCFault) -> Int {
        guard index < params.count else { throw .missing(name) }
        guard let i = params[index].integer else { throw .badType(name, expected: "an integer") }
        return i
    }
}

/// An RPC method: its name, its one-line help and what it does. A method returns the
/// values it adds, in order; most add one (a structure), `core.psx` adds one per process.
public struct RPCMethod: Sendable {
    public typealias Handler = @Sendable (RPCCall) throws(RPCFault) -> [RPCValue]

    public let name: String
    public let help: String
    /// JSON-RPC gives the result as an array even when the method added one value
    /// (Kamailio's RET_ARRAY methods, such as `core.psx`).
    public let returnsArray: Bool
    public let handler: Handler

    public init(_ name: String, help: String, returnsArray: Bool = false, _ handler: @escaping Handler) {
        self.name = name
        self.help = help
        self.returnsArray = returnsArray
        self.handler = handler
    }
}

/// Every RPC method of this server: the core's and those of the modules the config loads,
/// as Kamailio exports them (a module that is not loaded has no methods). Built once per
/// process; read-only afterwards.
public struct RPCMethodTable: Sendable {
    private var byName: [String: RPCMethod] = [:]

    public init(_ methods: [RPCMethod] = []) {
        for m in methods { add(m) }
    }

    public mutating func add(_ method: RPCMethod) { byName[method.name] = method }

    public var names: [String] { byName.keys.sorted() }

    public func method(named name: String) -> RPCMethod? { byName[name] }

    /// Runs a call. An unknown method is a fault, as are a method's own failures; nothing
    /// a caller sends can stop the process answering.
    public func call(_ name: String, params: [RPCValue], process: ProcessContext) -> Result<RPCReply, RPCFault> {
        guard let method = byName[name] else {
            return .failure(RPCFault(500, "command \(name) not found"))
        }
        do {
            let values = try method.handler(RPCCall(method: name, params: params, process: process))
            return .success(RPCReply(values: values, returnsArray: method.returnsArray))
        } catch {
            return .failure(error)
        }
    }
}

/// What a method answered.
public struct RPCReply: Equatable, Sendable {
    public var values: [RPCValue]
    public var returnsArray: Bool

    /// The one JSON-RPC `result`: the value itself, or an array of them (several values,
    /// or a RET_ARRAY method), or null when the method added nothing.
    public var jsonResult: RPCValue? {
        if returnsArray || values.count > 1 { return .array(values) }
        return values.first
    }
}
