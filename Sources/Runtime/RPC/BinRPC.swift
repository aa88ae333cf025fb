/// binrpc, the binary RPC encoding of Kamailio's ctl module and `kamcmd`, written from its
/// published description and from watching kamcmd talk to Kamailio 5.6.3.
///
/// A packet is a header and a body of records. Header: byte 0 is 0xA1 (magic 0xA, version 1);
/// byte 1 holds the packet type (high nibble: 0 request, 1 reply, 3 fault), the number of
/// bytes of the body length minus one (bits 3-2) and of the cookie minus one (bits 1-0);
/// then the body length and the cookie, big-endian. A record starts with one byte: the low
/// nibble is the type; the high nibble is either the value's size (< 8 bytes) or, with bit 3
/// set, how many of the following bytes give the size. A request is the method name (a
/// string) followed by the parameters; a reply is a list of values; a fault is an int code
/// and a string.
public enum BinRPC {
    public static let magicVersion: UInt8 = 0xA1

    public enum PacketType: UInt8, Sendable {
        case request = 0
        case reply = 1
        case fault = 3
    }

    enum RecordType: UInt8 {
        case int = 0, string = 1, double = 2, structure = 3, array = 4, member = 5, bytes = 6
    }

    /// A whole packet's header, once enough bytes of it arrived.
    public struct Header: Equatable, Sendable {
        public var type: PacketType
        public var cookie: UInt32
        public var bodyLength: Int
        public var headerLength: Int
        public var packetLength: Int { headerLength + bodyLength }
    }

    /// What the first bytes of a stream or datagram are.
    public enum HeaderScan: Equatable, Sendable {
        case needMore
        case header(Header)
        case invalid(String)
    }

    /// Reads a packet header from the start of `bytes`.
    public static func scanHeader(_ bytes: some Collection<UInt8>) -> HeaderScan {
        var it = bytes.makeIterator()
        guard let b0 = it.next() else { return .needMore }
        guard b0 == magicVersion else { return .invalid(String(format: "not a binrpc packet (first byte 0x%02x)", Int(b0))) }
        guard let b1 = it.next() else { return .needMore }
        guard let type = PacketType(rawValue: b1 >> 4) else { return .invalid("unknown binrpc packet type \(b1 >> 4)") }
        let lengthBytes = Int((b1 >> 2) & 3) + 1
        let cookieBytes = Int(b1 & 3) + 1
        guard bytes.count >= 2 + lengthBytes + cookieBytes else { return .needMore }
        var length = 0
        for _ in 0..<lengthBytes { length = length << 8 | Int(it.next()!) }
        var cookie: UInt32 = 0
        for _ in 0..<cookieBytes { cookie = cookie << 8 | UInt32(it.next()!) }
        return .header(Header(type: type, cookie: cookie, bodyLength: length, headerLength: 2 + lengthBytes + cookieBytes))
    }

    /// A decoded request: the method and its parameters.
    public struct Request: Equatable, Sendable {
        public var method: String
        public var params: [RPCValue]
    }

    /// Why a body could not be read.
    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Decodes a request body (the bytes after the header).
    public static func decodeRequest(_ body: ArraySlice<UInt8>) throws(DecodeError) -> Request {
        var reader = BinRPCReader(body)
        guard case .string(let method)? = try reader.nextValue() else {
            throw DecodeError(description: "a request must start with the method name (a string)")
        }
        var params: [RPCValue] = []
        while let value = try reader.nextValue() { params.append(value) }
        return Request(method: method, params: params)
    }

    /// Decodes a reply or fault body into its values (what a client does; the tests use it).
    public static func decodeValues(_ body: ArraySlice<UInt8>) throws(DecodeError) -> [RPCValue] {
        var reader = BinRPCReader(body)
        var values: [RPCValue] = []
        while let value = try reader.nextValue() { values.append(value) }
        return values
    }

    /// A whole packet: header and body.
    public static func packet(_ type: PacketType, cookie: UInt32, body: [UInt8]) -> [UInt8] {
        let lengthBytes = max(1, minimalBytes(UInt32(truncatingIfNeeded: body.count)))
        let cookieBytes = max(1, minimalBytes(cookie))
        var out: [UInt8] = []
        out.reserveCapacity(10 + body.count)
        out.append(magicVersion)
        out.append(type.rawValue << 4 | UInt8(lengthBytes - 1) << 2 | UInt8(cookieBytes - 1))
        appendBigEndian(UInt32(body.count), bytes: lengthBytes, to: &out)
        appendBigEndian(cookie, bytes: cookieBytes, to: &out)
        out += body
        return out
    }

    /// A reply packet carrying `values`.
    public static func reply(_ values: [RPCValue], cookie: UInt32) -> [UInt8] {
        var writer = BinRPCWriter()
        for v in values { writer.topLevel(v) }
        return packet(.reply, cookie: cookie, body: writer.bytes)
    }

    /// A fault packet, as kamcmd prints it: `error: CODE - MESSAGE`.
    public static func fault(_ fault: RPCFault, cookie: UInt32) -> [UInt8] {
        var writer = BinRPCWriter()
        writer.value(.int(fault.code))
        writer.value(.string(fault.message))
        return packet(.fault, cookie: cookie, body: writer.bytes)
    }

    /// A request packet (what kamcmd sends; the tests and the benchmark use it).
    public static func request(_ method: String, params: [RPCValue] = [], cookie: UInt32) -> [UInt8] {
        var writer = BinRPCWriter()
        writer.value(.string(method))
        for p in params { writer.value(p) }
        return packet(.request, cookie: cookie, body: writer.bytes)
    }

    static func minimalBytes(_ n: UInt32) -> Int {
        n == 0 ? 0 : (32 - n.leadingZeroBitCount + 7) / 8
    }

    static func appendBigEndian(_ n: UInt32, bytes: Int, to out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt32(i)))) }
    }
}
