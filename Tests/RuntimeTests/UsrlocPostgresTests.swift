import Foundation
import SIP
import Testing
import TestSupport

/// usrloc on PostgreSQL (a throw-away cluster with Kamailio 5.6's schema): two servers in
/// db_mode 3 share registrations (issue 14, "Done when" 3), on Respite and on Kamailio
/// 5.6.3 with the same config; and rows pass between the two in both directions.
@Suite(.serialized) struct UsrlocPostgresTests {
    typealias S = UsrlocDatabaseSupport

    static func cluster() throws -> PostgresCluster {
        let cluster = try PostgresCluster()
        try cluster.psql(file: "/usr/share/kamailio/postgres/standard-create.sql")
        try cluster.psql(file: "/usr/share/kamailio/postgres/usrloc-create.sql")
        return cluster
    }

    @Test func twoRespiteNodesShareRegistrations() throws {
        let cluster = try Self.cluster()
        defer { cluster.remove() }
        let config = S.config(url: cluster.url, mode: 3)
        let a = try ServerProcess(config: config, readiness: .processesStarted)
        defer { a.stop() }
        let b = try ServerProcess(config: config, readiness: .processesStarted)
        defer { b.stop() }
        try Self.registerOnACallThroughB(a: a.port, b: b.port)
        // Database only: nothing is kept in either arena.
        #expect(try S.shmUsrloc(a)["contacts"] as? Int == 0)
        #expect(try S.shmUsrloc(b)["dbMode"] as? Int == 3)
        // The row as Kamailio 5.6 writes it (no domain without use_domain, q -1 when unset).
        #expect(S.register(try SIPTestClient(server: a.port), "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        let row = try cluster.psql("SELECT username, domain IS NULL, expires > now() + interval '3500 seconds', q FROM location")
        #expect(row.trimmingCharacters(in: .whitespacesAndNewlines) == "bob|t|t|-1")
    }

    /// PostgreSQL stopped mid-run: a REGISTER gets 500 and lookups fail, each answered
    /// within the query timeout; once the server is back, the node uses it again.
    @Test func aStoppedClusterFailsCleanlyAndComesBack() throws {
        let cluster = try Self.cluster()
        defer { cluster.remove() }
        let node = try ServerProcess(config: S.config(url: cluster.url, mode: 3), readiness: .processesStarted)
        defer { node.stop() }
        let client = try SIPTestClient(server: node.port)
        #expect(S.register(client, "bob", contact: "sip:bob@127.0.0.1:7001")?.statusCode == 200)
        cluster.stop()
        let started = Date()
        #expect(S.lookup(client, "bob") == "404 Not Found")
        #expect(S.register(client, "alice", contact: "sip:alice@127.0.0.1:7002")?.statusCode == 500)
        #expect(Date().timeIntervalSince(started) < 4.5)
        #expect(node.log.contains("cannot read the contacts of bob"))
        try cluster.start()
        let back = waitUntil(timeout: 10, interval: 0.5) { S.lookup(client, "bob") == "200 Found sip:bob@127.0.0.1:7001" }
        #expect(back, "the node did not reconnect:\n\(node.log)")
        #expect(node.isRunning)
    }

    @Test func twoKamailioNodesShareRegistrations() throws {
        let cluster = try Self.cluster()
        defer { cluster.remove() }
        let config = S.config(url: cluster.url, mode: 3)
        let a = try KamailioServer(config: config)
        defer { a.stop() }
        let b = try KamailioServer(config: config)
        defer { b.stop() }
        guard waitUntil(timeout: 5, { FreePort.isUDPBound(a.port) && FreePort.isUDPBound(b.port) }) else {
            throw Spawn.Failure("Kamailio did not start:\n\(a.log)\n\(b.log)")
        }
        try Self.registerOnACallThroughB(a: a.port, b: b.port)
    }

    @Test func kamailioAndRespiteReadEachOthersRows() throws {
        let cluster = try Self.cluster()
        defer { cluster.remove() }
        try crossRead(config: S.config(url: cluster.url, mode: 1), rows: {
            try cluster.psql("SELECT username, contact, expires FROM location ORDER BY username")
        })
        // PostgreSQL's rows hold local-time timestamps, as Kamailio writes them.
        let carol = try cluster.psql("SELECT expires - now()::timestamp(0) FROM location WHERE username = 'carol'")
        #expect(carol.hasPrefix("00:14:") || carol.hasPrefix("00:15:00"))
    }

    /// bob (a UAS on loopback) registers through node A; an INVITE sent to node B reaches
    /// him and his 200 comes back to the caller; after bob unregisters through B, A finds
    /// him no more.
    static func registerOnACallThroughB(a: UInt16, b: UInt16) throws {
        let bob = try LoopbackUDPSocket()
        let contact = "sip:bob@127.0.0.1:\(bob.port)"
        let toA = try SIPTestClient(server: a)
        #expect(S.register(toA, "bob", contact: contact)?.statusCode == 200)
        let toB = try SIPTestClient(server: b)
        #expect(S.lookup(toB, "bob") == "200 Found \(contact)")

        toB.send(toB.request("INVITE", user: "bob", headers: ["Content-Type: application/sdp"], body: "v=0\r\n"))
        guard let invite = bob.receive(timeout: 3) else {
            Issue.record("node B did not relay the INVITE to bob")
            return
        }
        let text = String(decoding: invite, as: UTF8.self)
        #expect(text.hasPrefix("INVITE \(contact) SIP/2.0"))
        bob.send(SIPTestClient.reply(to: invite, "200 OK", extra: ["Contact: <\(contact)>"]), to: b)
        var answered: SIPMessage?
        while let m = toB.receive(timeout: 3) {
            if !m.isRequest && m.statusCode >= 200 { answered = m; break }
        }
        #expect(answered?.statusCode == 200 && answered?.cseq.method.name == "INVITE")

        #expect(S.register(toB, "bob", contact: contact, expires: 0)?.statusCode == 200)
        #expect(S.lookup(toA, "bob") == "404 Not Found")
    }
}
