import Foundation
import Testing

@testable import Runtime

/// binrpc and JSON-RPC decoding and encoding: the bytes kamcmd and Kamailio 5.6.3 put on
/// the wire (captured on loopback), and thousands of random and mangled inputs, which may
/// be refused but never crash or hang the decoder.
@Suite struct RPCCodecTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// `kamcmd core.echo 12 abc s:34`, as kamcmd sent it to Kamailio.
    static let kamcmdEcho = bytes("a103173a0a2e94910a636f72652e6563686f00100c416162630031333400")

    @Test func kamcmdsRequestDecodesAndOurEncodingIsByteForByteTheSame() throws {
        guard case .header(let h) = BinRPC.scanHeader(Self.kamcmdEcho) else { Issue.record("no header"); return }
        #expect(h == BinRPC.Header(type: .request, cookie: 0x3a0a_2e94, bodyLength: 23, headerLength: 7))
        let request = try BinRPC.decodeRequest(Self.kamcmdEcho[h.headerLength...])
        #expect(request == BinRPC.Request(method: "core.echo", params: [.int(12), .string("abc"), .string("34")]))
        #expect(BinRPC.request("core.echo", params: request.params, cookie: h.cookie) == Self.kamcmdEcho)
    }

    @Test func kamailiosRepliesDecode() throws {
        // core.uptime and htable.dump (an array of structures inside a structure).
        let uptime = Self.bytes("a1135217b93adf03456e6f77009119547565204465632020312031383a34343a3035203230323600950975705f73696e6365009119547565204465632020312031383a34333a353420323032360075757074696d6500100b83")
        let dump = Self.bytes("a1133b65d2b71d0365656e7472790010035573697a6500100155736c6f74000303556e616d6500316b32006576616c756500100555747970650041696e7400838383")
        for (packet, expected) in [
            (uptime, RPCValue.structure([.init("now", .string("Tue Dec  1 18:44:05 2026")),
                                          .init("up_since", .string("Tue Dec  1 18:43:54 2026")), .init("uptime", .int(11))])),
            (dump, .structure([.init("entry", .int(3)), .init("size", .int(1)), .init("slot", .array([
                .structure([.init("name", .string("k2")), .init("value", .int(5)), .init("type", .string("int"))]),
            ]))])),
        ] {
            guard case .header(let h) = BinRPC.scanHeader(packet) else { Issue.record("no header"); continue }
            #expect(h.type == .reply && h.packetLength == packet.count)
            let values = try BinRPC.decodeValues(packet[h.headerLength...])
            #expect(values == [expected])
            // What we send for the same values is what Kamailio sent.
            #expect(BinRPC.reply(values, cookie: h.cookie) == packet)
        }
    }

    @Test func faultsAndLargeOrNegativeNumbersTravel() throws {
        let fault = BinRPC.fault(RPCFault(500, "command nosuch.method not found"), cookie: 0x5606_2ccf)
        #expect(fault == Self.bytes("a1332556062ccf2001f49120636f6d6d616e64206e6f737563682e6d6574686f64206e6f7420666f756e6400"))
        let values: [RPCValue] = [.int(-7), .int(0), .int(1 << 40), .double(2.5), .string(String(repeating: "x", count: 70_000))]
        let packet = BinRPC.reply(values, cookie: 1)
        guard case .header(let h) = BinRPC.scanHeader(packet) else { Issue.record("no header"); return }
        let back = try BinRPC.decodeValues(packet[h.headerLength...])
        // Past 32 bits an integer goes as its decimal text, which kamcmd prints the same way.
        #expect(back == [.int(-7), .int(0), .string(String(1 << 40)), .double(2.5), values[4]])
    }

    @Test func aHeaderThatIsNotWholeAsksForMoreAndGarbageIsRefused() {
        #expect(BinRPC.scanHeader([UInt8]()) == .needMore)
        #expect(BinRPC.scanHeader(Array(Self.kamcmdEcho.prefix(4))) == .needMore)
        #expect(BinRPC.scanHeader(Array("GET / HTTP/1.1\r\n".utf8)) != .needMore)
        if case .invalid = BinRPC.scanHeader([0xA1, 0x23, 0, 0]) {} else { Issue.record("type 2 is not a packet type") }
    }

    @Test func randomAndMangledPacketsNeverCrashTheDecoder() {
        var rng = SystemRandomNumberGenerator()
        let seeds = [Self.kamcmdEcho, BinRPC.request("htable.sets", params: [.string("a"), .string("k"), .structure([.init("x", .array([.int(1)]))])], cookie: 9)]
        var refused = 0, decoded = 0
        for i in 0..<5_000 {
            var packet: [UInt8]
            if i % 2 == 0 {
                packet = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 4 == 0 && packet.count > 2 { packet[0] = 0xA1; packet[1] &= 0x0F }
            } else {
                packet = seeds[i % seeds.count]
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<packet.count, using: &rng)
                    switch Int.random(in: 0...2, using: &rng) {
                    case 0: packet[at] = UInt8.random(in: 0...255, using: &rng)
                    case 1: packet.removeSubrange(at...)
                    default: packet.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                    }
                    if packet.isEmpty { break }
                }
            }
            guard case .header(let h) = BinRPC.scanHeader(packet), h.packetLength <= packet.count else { refused += 1; continue }
            do {
                _ = try BinRPC.decodeRequest(packet[h.headerLength..<h.packetLength])
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(refused + decoded == 5_000 && refused > 0)
    }

    @Test func deeplyNestedStructuresAreRefusedNotRecursedInto() {
        var body: [UInt8] = [0x91, 0x0a] + Array("core.echo".utf8) + [0]
        body += [UInt8](repeating: 0x04, count: 10_000)
        let packet = BinRPC.packet(.request, cookie: 1, body: body)
        guard case .header(let h) = BinRPC.scanHeader(packet) else { Issue.record("no header"); return }
        #expect(throws: BinRPC.DecodeError.self) { try BinRPC.decodeRequest(packet[h.headerLength...]) }
    }

    @Test func jsonRPCDocumentsParseAsKamailiosJsonrpcsReadsThem() throws {
        let one = try JSONRPC.parse(#"{"jsonrpc":"2.0","method":"core.echo","params":[1,"a",2.5,{"k":true}],"id":7}"#).get()
        #expect(one.entries == [.request(.init(method: "core.echo", params: [.int(1), .string("a"), .double(2.5), .structure([.init("k", .int(1))])],
                                              id: .int(7), replyName: nil))])
        let named = try JSONRPC.parse(#"{"jsonrpc":"2.0","method":"htable.get","params":{"t":"a","k":"b"},"id":"x","reply_name":"r"}"#).get()
        #expect(named.entries == [.request(.init(method: "htable.get", params: [.string("a"), .string("b")], id: .string("x"), replyName: "r"))])
        let batch = try JSONRPC.parse(#"[{"jsonrpc":"2.0","method":"core.version"},{"id":1},5]"#).get()
        #expect(batch.isBatch && batch.entries.count == 3)
        if case .request(let r) = batch.entries[0] { #expect(r.id == nil) } else { Issue.record("a notification is a request") }
        if case .invalid(let f, let id) = batch.entries[1] { #expect(f.code == -32600 && id == .int(1)) } else { Issue.record("no method") }
        if case .invalid = batch.entries[2] {} else { Issue.record("5 is not a request") }
        guard case .failure(let f) = JSONRPC.parse("{bad") else { Issue.record("not JSON"); return }
        #expect(f.code == -32700)
    }

    @Test func responsesAreWrittenAsJsonrpcsWritesThem() {
        let ok = JSONRPC.response(to: .int(1), .success(RPCReply(values: [.string("v")], returnsArray: false)), pretty: true)
        #expect(ok == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"v\",\n\t\"id\":\t1\n}")
        let err = JSONRPC.response(to: .string("q\"1"), .failure(JSONRPC.methodNotFound), pretty: false)
        #expect(err == #"{"jsonrpc":"2.0","error":{"code":500,"message":"Method Not Found"},"id":"q\"1"}"#)
        let list = JSONRPC.response(to: .null, .success(RPCReply(values: [.int(1)], returnsArray: true)), pretty: false)
        #expect(list == #"{"jsonrpc":"2.0","result":[1],"id":null}"#)
        #expect(JSONRPC.response(to: nil, .success(RPCReply(values: [], returnsArray: false)), pretty: true) == nil)
    }

    @Test func mangledJSONDocumentsNeverCrashTheParser() {
        var rng = SystemRandomNumberGenerator()
        let seed = Array(#"[{"jsonrpc":"2.0","method":"core.echo","params":[1,"a\u00e9",[2,{"x":null}]],"id":"k"}]"#.utf8)
        var parsed = 0
        for _ in 0..<5_000 {
            var doc = seed
            for _ in 0..<Int.random(in: 1...6, using: &rng) where !doc.isEmpty {
                let at = Int.random(in: 0..<doc.count, using: &rng)
                if Bool.random(using: &rng) { doc[at] = UInt8.random(in: 0...255, using: &rng) } else { doc.remove(at: at) }
            }
            if case .success = JSONRPC.parse(String(decoding: doc, as: UTF8.self)) { parsed += 1 }
            _ = JSONDocumentScanner.end(of: doc)
        }
        #expect(parsed < 5_000)
    }

    @Test func theFIFOScannerFindsDocumentsBackToBack() {
        let two = Array(#" {"a":"}{"} [1,[2]] "#.utf8)
        let first = JSONDocumentScanner.end(of: two)
        #expect(first == 11)
        #expect(JSONDocumentScanner.end(of: Array(two[first!...])) == 8)
        #expect(JSONDocumentScanner.end(of: Array(#"{"a":"#.utf8)) == nil)
    }
}
