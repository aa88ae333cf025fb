import Foundation
import SIP
import Testing
import TestSupport

/// A PostgreSQL that stops and starts under a running server (issue 14's faults): lookups
/// fail at once with a log line while it is down, never stalling the receivers past the
/// query timeout, and succeed again when it is back; a PostgreSQL that is down when the
/// server starts is a clear error, and nothing starts.
@Suite(.serialized) struct DatabaseOutageTests {
    static let config = """
    children=2
    listen=udp:127.0.0.1:PORT
    loadmodule "db_postgres.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "sqlops.so"
    modparam("sqlops", "sqlcon", "ca=>PGURL")
    request_route {
        if (sql_query("ca", "select ha1 from subscriber where username = '$rU'", "ra")) {
            if ($dbr(ra=>rows) > 0) { sl_send_reply("200", "found $dbr(ra=>[0,0])"); exit; }
            sl_send_reply("404", "no row");
            exit;
        }
        sl_send_reply("500", "database unavailable");
    }
    """

    static func subscriberTable(_ cluster: PostgresCluster) throws {
        for table in ["standard", "auth_db"] { try cluster.psql(file: "/usr/share/kamailio/postgres/\(table)-create.sql") }
        try cluster.psql("INSERT INTO subscriber (username, domain, password, ha1) VALUES ('alice', 'example.net', 'x', 'a1a1')")
    }

    static func ask(_ client: SIPTestClient, _ user: String) -> (reply: String, seconds: Double) {
        let started = Date()
        let reply = client.exchange(client.request("OPTIONS", user: user), timeout: 6)
        return (reply.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "no reply", Date().timeIntervalSince(started))
    }

    @Test func lookupsFailFastWhileTheServerIsDownAndRecover() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        try Self.subscriberTable(cluster)
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "PGURL", with: cluster.url))
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(Self.ask(client, "alice").reply == "200 found a1a1")
        #expect(Self.ask(client, "nobody").reply == "404 no row")

        cluster.stop()
        for _ in 0..<3 {
            let (reply, seconds) = Self.ask(client, "alice")
            #expect(reply == "500 database unavailable")
            #expect(seconds < 3, "a lookup took \(seconds) s with the database down")
        }
        #expect(server.log.contains("postgres"), "the outage is logged:\n\(server.log.suffix(1500))")

        try cluster.start()
        let back = waitUntil(timeout: 15, interval: 0.2) { Self.ask(client, "alice").reply == "200 found a1a1" }
        #expect(back, "lookups work again once PostgreSQL is back:\n\(server.log.suffix(1500))")
    }

    @Test func aDatabaseDownAtStartIsAClearError() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        cluster.stop()
        do {
            let started = try ServerProcess(config: Self.config.replacingOccurrences(of: "PGURL", with: cluster.url), timeout: 5)
            started.stop()
            Issue.record("the server started without its database")
        } catch let failed as ServerFailed {
            #expect(failed.log.contains("cannot connect to postgres://respite@127.0.0.1:\(cluster.port)/respite"), "\(failed.log)")
            #expect(failed.log.contains("nothing started"), "\(failed.log)")
            #expect(!failed.log.contains(":" + cluster.password + "@"), "the password stays out of the log")
        }
        // The same config with the server up starts.
        try cluster.start()
        try Self.subscriberTable(cluster)
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "PGURL", with: cluster.url))
        server.stop()
    }
}
