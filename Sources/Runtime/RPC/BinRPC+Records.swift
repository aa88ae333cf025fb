/// Reads binrpc records from a body, checking every length against what is there.
struct BinRPCReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int
    /// Structures and arrays open at once; deeper nesting is refused, so a hostile packet
    /// cannot exhaust the stack.
    static let maxDepth = 16

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    private struct Head {
        var type: UInt8
        var size: Int
        /// The size came in extra bytes: with size 0 on a structure or an array, an end mark.
        var extended: Bool
    }

    private mutating func head() throws(BinRPC.DecodeError) -> Head {
        let byte = bytes[position]
        position += 1
        var size = Int(byte >> 4)
        let extended = size & 8 != 0
        if extended {
            let count = size & 7
            guard count <= 4 else { throw fail("a record size of \(count) bytes") }
            guard position + count <= bytes.endIndex else { throw fail("a record cut short") }
            size = 0
            for _ in 0..<count {
                size = size << 8 | Int(bytes[position])
                position += 1
            }
        }
        guard position + size <= bytes.endIndex else { throw fail("a record longer than the packet") }
        return Head(type: byte & 0x0f, size: size, extended: extended)
    }

    private func fail(_ what: String) -> BinRPC.DecodeError {
        BinRPC.DecodeError(description: "malformed binrpc body: \(what) at byte \(position - bytes.startIndex)")
    }

    /// The next value, or nil at the end of the body.
    mutating func nextValue() throws(BinRPC.DecodeError) -> RPCValue? {
        guard position < bytes.endIndex else { return nil }
        return try value(head(), depth: 0)
    }

    private mutating func value(_ h: Head, depth: Int) throws(BinRPC.DecodeError) -> RPCValue {
        guard let type = BinRPC.RecordType(rawValue: h.type) else { throw fail("unknown record type \(h.type)") }
        switch type {
        case .int:
            guard h.size <= 4 else { throw fail("an int of \(h.size) bytes") }
            var n: UInt32 = 0
            for b in take(h.size) { n = n << 8 | UInt32(b) }
            return .int(h.size == 4 ? Int(Int32(bitPattern: n)) : Int(n))
        case .double:
            guard h.size <= 4 else { throw fail("a double of \(h.size) bytes") }
            var n: UInt32 = 0
            for b in take(h.size) { n = n << 8 | UInt32(b) }
            let i = h.size == 4 ? Int(Int32(bitPattern: n)) : Int(n)
            return .double(Double(i) / 1000)
        case .string:
            var s = take(h.size)
            if s.last == 0 { s = s.dropLast() }
            return .string(String(decoding: s, as: UTF8.self))
        case .bytes:
            return .string(String(decoding: take(h.size), as: UTF8.self))
        case .structure:
            guard !h.extended else { throw fail("a structure end with no structure open") }
            guard depth < Self.maxDepth else { throw fail("structures nested too deep") }
            _ = take(h.size)
            return try structure(depth: depth + 1)
        case .array:
            guard !h.extended else { throw fail("an array end with no array open") }
            guard depth < Self.maxDepth else { throw fail("arrays nested too deep") }
            _ = take(h.size)
            return try array(depth: depth + 1)
        case .member:
            throw fail("a named member outside a structure")
        }
    }

    private mutating func take(_ n: Int) -> ArraySlice<UInt8> {
        defer { position += n }
        return bytes[position..<position + n]
    }

    private mutating func structure(depth: Int) throws(BinRPC.DecodeError) -> RPCValue {
        var members: [RPCMember] = []
        var unnamed: [RPCValue] = []
        while true {
            guard position < bytes.endIndex else { throw fail("a structure with no end") }
            let h = try head()
            if h.type == BinRPC.RecordType.structure.rawValue && h.extended {
                return members.isEmpty && !unnamed.isEmpty ? .array(unnamed) : .structure(members)
            }
            guard h.type == BinRPC.RecordType.member.rawValue else {
                // An item with no name: the structure stands for an array (see BinRPCWriter).
                unnamed.append(try value(h, depth: depth))
                continue
            }
            var name = take(h.size)
            if name.last == 0 { name = name.dropLast() }
            guard position < bytes.endIndex else { throw fail("a member with no value") }
            members.append(RPCMember(String(decoding: name, as: UTF8.self), try value(head(), depth: depth)))
        }
    }

    private mutating func array(depth: Int) throws(BinRPC.DecodeError) -> RPCValue {
        var items: [RPCValue] = []
        while true {
            guard position < bytes.endIndex else { throw fail("an array with no end") }
            let h = try head()
            if h.type == BinRPC.RecordType.array.rawValue && h.extended { return .array(items) }
            items.append(try value(h, depth: depth))
        }
    }
}

/// Writes binrpc records. Integers travel as 32-bit signed numbers: a larger one goes as
/// its decimal string, which kamcmd prints the same way.
struct BinRPCWriter {
    private(set) var bytes: [UInt8]

    init() {
        bytes = []
        bytes.reserveCapacity(1024)
    }

    /// A value at the top of a reply: an array's items go one after another, as Kamailio's
    /// ctl sends a method's list (kamcmd prints each).
    mutating func topLevel(_ v: RPCValue) {
        if case .array(let items) = v {
            for item in items { topLevel(item) }
        } else {
            value(v)
        }
    }

    mutating func value(_ v: RPCValue) {
        switch v {
        case .int(let i):
            if let small = Int32(exactly: i) {
                integer(UInt32(bitPattern: small), type: .int)
            } else {
                string(String(i), type: .string)
            }
        case .double(let d):
            let scaled = (d * 1000).rounded()
            if scaled.isFinite, let small = Int32(exactly: scaled) {
                integer(UInt32(bitPattern: small), type: .double)
            } else {
                string(String(d), type: .string)
            }
        case .string(let s):
            string(s, type: .string)
        case .structure(let members):
            bytes.append(BinRPC.RecordType.structure.rawValue)
            for m in members { member(m.name, m.value) }
            bytes.append(0x80 | BinRPC.RecordType.structure.rawValue)
        case .array(let items):
            bytes.append(BinRPC.RecordType.array.rawValue)
            for item in items { value(item) }
            bytes.append(0x80 | BinRPC.RecordType.array.rawValue)
        }
    }

    /// An array member goes as Kamailio's ctl sends one (htable.dump's `slot`): a structure
    /// whose items have no names, which kamcmd prints as a nested block.
    private mutating func member(_ name: String, _ v: RPCValue) {
        string(name, type: .member)
        if case .array(let items) = v {
            bytes.append(BinRPC.RecordType.structure.rawValue)
            for item in items { value(item) }
            bytes.append(0x80 | BinRPC.RecordType.structure.rawValue)
        } else {
            value(v)
        }
    }

    private mutating func integer(_ n: UInt32, type: BinRPC.RecordType) {
        let size = BinRPC.minimalBytes(n)
        bytes.append(UInt8(size) << 4 | type.rawValue)
        BinRPC.appendBigEndian(n, bytes: size, to: &bytes)
    }

    /// A string or member name, with the terminating zero kamcmd expects.
    private mutating func string(_ s: String, type: BinRPC.RecordType) {
        let length = s.utf8.count + 1
        if length < 8 {
            bytes.append(UInt8(length) << 4 | type.rawValue)
        } else {
            let size = BinRPC.minimalBytes(UInt32(length))
            bytes.append(UInt8(0x8 | size) << 4 | type.rawValue)
            BinRPC.appendBigEndian(UInt32(length), bytes: size, to: &bytes)
        }
        bytes.append(contentsOf: s.utf8)
        bytes.append(0)
    }
}
