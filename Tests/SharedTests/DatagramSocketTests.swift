import CShared
import Glibc
import Testing
import Shared

/// The one socket type and its address, on loopback only. Every socket binds port 0 (the
/// kernel picks a free one), every wait is bounded, and every socket closes when its
/// test ends.
@Suite struct DatagramSocketTests {
    static let loopback4 = SocketAddress(ipv4: 0x7F00_0001, port: 0)
    static let loopback6 = SocketAddress(host: "::1", port: 0)!

    /// Sends one datagram from a fresh socket to another on `address`, and reads it back.
    func roundTrip(on address: SocketAddress) throws {
        let receiver = try DatagramSocket(binding: address)
        let sender = try DatagramSocket(binding: address, options: .init(blocking: false))
        #expect(receiver.address.family == address.family && receiver.address.port != 0)
        #expect(receiver.address.isLoopback)

        let payload: [UInt8] = Array("OPTIONS sip:x SIP/2.0\r\n\r\n".utf8)
        guard case .done(let sent) = try sender.send(payload, to: receiver.address) else {
            Issue.record("a datagram to loopback would block")
            return
        }
        #expect(sent == payload.count)
        #expect(try receiver.waitReadable(until: cs_now_ns() + 2_000_000_000), "the datagram arrives within 2 s")

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        guard case .done(let datagram) = try receiver.receive(into: buffer) else {
            Issue.record("a readable blocking socket would block")
            return
        }
        #expect(Array(buffer[0..<datagram.count]) == payload)
        #expect(datagram.from == sender.address, "the sender is the address the kernel bound for it")
    }

    @Test func ipv4LoopbackSendAndReceive() throws {
        try roundTrip(on: Self.loopback4)
    }

    @Test func ipv6LoopbackSendAndReceive() throws {
        try roundTrip(on: Self.loopback6)
    }

    @Test func emptyNonBlockingSocketWouldBlock() throws {
        let socket = try DatagramSocket(binding: Self.loopback4, options: .init(blocking: false))
        var buffer = [UInt8](repeating: 0, count: 512)
        guard case .wouldBlock = try socket.receiveIgnoringSender(into: &buffer) else {
            Issue.record("an empty non-blocking socket gave a datagram")
            return
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 16)
        defer { scratch.deallocate() }
        guard case .wouldBlock = try socket.receive(into: scratch) else {
            Issue.record("an empty non-blocking socket gave a datagram")
            return
        }
        #expect(buffer.count == 512, "the buffer keeps its size")
        // A deadline already passed: the wait returns at once.
        #expect(try socket.waitReadable(until: cs_now_ns()) == false)
    }

    @Test func buffersAreReadBack() throws {
        let socket = try DatagramSocket(binding: Self.loopback4, options: .init(
            blocking: false, receiveBufferBytes: 256 << 10, sendBufferBytes: 256 << 10))
        // Linux doubles what it is asked for (bookkeeping), capped by the sysctl limits.
        #expect(socket.receiveBufferBytes >= 4096 && socket.sendBufferBytes >= 4096)
    }

    @Test func bindingABusyPortThrowsNamingTheCall() throws {
        let first = try DatagramSocket(binding: Self.loopback4)
        do throws(SystemCallError) {
            let second = try DatagramSocket(binding: first.address)
            Issue.record("bound \(second.address) twice")
        } catch {
            #expect(error.errno == EADDRINUSE)
            #expect(error.call == "bind(\(first.address))")
            #expect(error.description.hasPrefix("bind(127.0.0.1:\(first.address.port)): "))
        }
    }

    @Test func listenSocketSendsAndReceives() throws {
        let server = try ListenSocket(binding: Self.loopback4)
        let client = try ListenSocket(binding: Self.loopback4)
        #expect(client.send(Array("ping".utf8), to: server.address))
        #expect(try server.socket.waitReadable(until: cs_now_ns() + 2_000_000_000))
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { scratch.deallocate() }
        let got = try #require(server.receive(into: scratch))
        #expect(got.count == 4 && got.from == client.address)
        #expect(server.fd == server.socket.descriptor)
        // A destination of the other family: refused, reported as false.
        #expect(!client.send([1], to: SocketAddress(host: "::1", port: Int(server.address.port))!))
    }
}

@Suite struct SocketAddressTests {
    @Test func parsesAndPrintsIPv4() throws {
        let a = try #require(SocketAddress(parsing: "10.0.0.7:5061", defaultPort: 5060))
        #expect(a.family == .ipv4 && a.ipv4 == 0x0A00_0007 && a.port == 5061)
        #expect(a.description == "10.0.0.7:5061" && a.host == "10.0.0.7" && a.uriHost == "10.0.0.7")
        #expect(a.bytes == [10, 0, 0, 7])
        #expect(SocketAddress(parsing: "1.2.3.4", defaultPort: 5060)?.port == 5060)
        #expect(SocketAddress(ipv4: 0x7F00_0001, port: 5060).description == "127.0.0.1:5060")
        let malformed = ["1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:x", "1.2.3.4:", "1.2.3.4:65536", "a.b.c.d", "1.2.3.4:-1"]
        for bad in malformed {
            #expect(SocketAddress(parsing: bad, defaultPort: 5060) == nil, "\(bad)")
        }
    }

    @Test func parsesAndPrintsIPv6() throws {
        let a = try #require(SocketAddress(parsing: "[::1]:5060", defaultPort: 0))
        #expect(a.family == .ipv6 && a.ipv4 == nil && a.port == 5060)
        #expect(a.description == "[::1]:5060" && a.host == "::1" && a.uriHost == "[::1]")
        #expect(a.bytes == [UInt8](repeating: 0, count: 15) + [1])
        #expect(a.isLoopback)
        // Plain IPv6 text is all host: its last group is not a port.
        let plain = try #require(SocketAddress(parsing: "2001:db8::1:5060", defaultPort: 7))
        #expect(plain.port == 7 && plain.description == "[2001:db8::1:5060]:7" && !plain.isLoopback)
        let long = SocketAddress(parsing: "[2001:DB8:0:0:0:0:0:1]", defaultPort: 5060)
        #expect(long?.description == "[2001:db8::1]:5060", "printed in RFC 5952's short form")
        #expect(SocketAddress(host: "[::1]", port: 9)?.description == "[::1]:9")
        #expect(SocketAddress(host: "::ffff:127.0.0.2", port: 9)?.isLoopback == true)
        for bad in ["[::1", "::1]", "[::1]5060", "[::1]:x", "[]:5060", "[1.2.3.4]:5060", ":::"] {
            #expect(SocketAddress(parsing: bad, defaultPort: 5060) == nil, "\(bad)")
        }
    }

    @Test func ipv4Text() {
        #expect(SocketAddress.parseIPv4("127.0.0.1") == 0x7F00_0001)
        #expect(SocketAddress.parseIPv4("255.255.255.255") == 0xFFFF_FFFF)
        #expect(SocketAddress.parseIPv4("010.0.0.1") == 0x0A00_0001, "leading zeros are decimal")
        for bad in ["", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "256.0.0.1", "1.2.3.4x", "1.2.3.0004",
                    "+1.2.3.4", " 1.2.3.4", "1.2.3.٤"] {
            #expect(SocketAddress.parseIPv4(bad) == nil, "\(bad)")
        }
    }

    @Test func equalityAndLoopback() {
        let a = SocketAddress(ipv4: 0x7F00_0001, port: 5060)
        #expect(a == SocketAddress(host: "127.0.0.1", port: 5060))
        #expect(a != SocketAddress(host: "::ffff:127.0.0.1", port: 5060), "an IPv4-mapped address is IPv6")
        #expect(a.withPort(5070).port == 5070 && a.withPort(5070).ipv4 == a.ipv4)
        #expect(a.isLoopback && !SocketAddress(ipv4: 0x0A00_0001, port: 1).isLoopback)
        #expect(!SocketAddress(host: "::2", port: 1)!.isLoopback)
    }

    @Test func resolvesLiteralsAndNamesInTheAskedFamily() {
        #expect(SocketAddress.resolve(host: "127.0.0.1", port: 5060) == SocketAddress(ipv4: 0x7F00_0001, port: 5060))
        #expect(SocketAddress.resolve(host: "[::1]", port: 5060, family: .ipv6)?.description == "[::1]:5060")
        #expect(SocketAddress.resolve(host: "::1", port: 5060, family: .ipv4) == nil, "a literal of another family")
        #expect(SocketAddress.resolve(host: "127.0.0.1", port: 70000) == nil)
        #expect(SocketAddress.resolve(host: "localhost", port: 5060, family: .ipv4)?.description == "127.0.0.1:5060")
    }
}
