/// A value an RPC method returns or receives, in the shape Kamailio's RPC interface has:
/// scalars, structures of named members (in order) and arrays. One model serves every
/// transport: binrpc (kamcmd) and JSON-RPC encode it each their way.
public indirect enum RPCValue: Equatable, Sendable {
    case int(Int)
    case double(Double)
    case string(String)
    /// Named members in the order the method added them (a name may repeat).
    case structure([RPCMember])
    case array([RPCValue])

    /// The value as a parameter's text: what a method that wants a string reads from an
    /// int or a double given on a command line.
    public var text: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .structure, .array: return nil
        }
    }

    /// The value as an integer parameter: an int, or a string that spells one.
    public var integer: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.isFinite && d.rounded() == d && abs(d) < 9e18 ? Int(d) : nil
        case .string(let s): return Int(s.trimmingCharacters(in: .whitespaces))
        case .structure, .array: return nil
        }
    }

    /// An unsigned counter as an RPC integer (counters never reach Int.max).
    public static func count<T: BinaryInteger>(_ n: T) -> RPCValue { .int(Int(clamping: n)) }
}

/// One member of a structure.
public struct RPCMember: Equatable, Sendable {
    public var name: String
    public var value: RPCValue

    public init(_ name: String, _ value: RPCValue) {
        self.name = name
        self.value = value
    }
}

/// Builds a structure member by member, in order.
public struct RPCStruct {
    public private(set) var members: [RPCMember] = []

    public init() {}

    public mutating func add(_ name: String, _ value: RPCValue) { members.append(RPCMember(name, value)) }
    public mutating func add(_ name: String, _ value: String) { add(name, .string(value)) }
    public mutating func add<T: BinaryInteger>(_ name: String, _ value: T) { add(name, .count(value)) }

    public var value: RPCValue { .structure(members) }
}

/// Why a call failed, as both transports report it: a code (Kamailio's use HTTP-like
/// numbers: 400 bad parameters, 404 not found, 500 method not found or internal) and a text.
public struct RPCFault: Error, Equatable, Sendable {
    public var code: Int
    public var message: String

    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    static func missing(_ what: String) -> RPCFault { RPCFault(400, "missing parameter: \(what)") }
    static func badType(_ what: String, expected: String) -> RPCFault {
        RPCFault(400, "invalid parameter type: \(what) must be \(expected)")
    }
}
