import Foundation
import SIP
import TestSupport
import Testing

/// auth_db on PostgreSQL (a throw-away cluster made from Kamailio's postgres schema files)
/// against Kamailio 5.6.3, and the arena's nonce counts as respite-shm shows them.
@Suite(.serialized) struct AuthArenaTests {
    @Test func postgresSubscribersAsKamailio() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for file in ["standard-create.sql", "auth_db-create.sql"] {
            try cluster.psql(file: "/usr/share/kamailio/postgres/\(file)")
        }
        try cluster.psql(AuthTests.subscribers)
        let config = AuthTests.config.replacingOccurrences(of: "DBMODULE", with: "db_postgres.so")
            .replacingOccurrences(of: "DBURL", with: cluster.url)
        let (k, r) = try KamailioServer.playBoth(config: config) { port, log in try AuthTests.play(port: port, log: log)
        }
        #expect(k.count > 25, "Kamailio:\n\(k.joined(separator: "\n"))")
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    /// The section "auth" of `respite-shm --json`.
    static func authSection(_ server: ServerProcess) throws -> [String: Any] {
        let r = try Products.run("respite-shm", ["--shm-name", server.shmName, "--json"], timeout: 10)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return json?["auth"] as? [String: Any] ?? [:]
    }

    @Test func nonceCountsLiveInTheArenaAndRespiteShmShowsThem() throws {
        let db = try AuthTests.subscriberFile()
        defer { try? FileManager.default.removeItem(at: db.dir) }
        let config = AuthTests.config.replacingOccurrences(of: "DBMODULE", with: "db_sqlite.so")
            .replacingOccurrences(of: "DBURL", with: "sqlite:///" + db.path)
            .replacingOccurrences(
                of: "modparam(\"auth\", \"nonce_expire\", 2)", with: "modparam(\"auth\", \"nc_array_size\", 5000)")
        let server = try ServerProcess(config: config, children: 2)
        defer { _ = server.stop() }
        let ua = AuthDigestClient(sip: try SIPTestClient(server: server.port))
        let uri = ua.uri("alice")
        guard let reply = ua.sip.exchange(ua.request("REGISTER", user: "alice", extra: ["X-Flags: 1"])),
            let challenge = AuthDigestClient.challenge(of: reply)
        else {
            Issue.record("no challenge:\n\(server.log)")
            return
        }
        // Two receivers answer in turn: each accepts the other's nonce and sees its nc.
        var codes: [Int] = []
        for nc in [1, 2, 2, 3] {
            let c = AuthDigestClient.credentials(
                user: "alice", password: "secret1", challenge: challenge, method: "REGISTER", uri: uri, nc: nc)
            codes.append(
                ua.sip.exchange(ua.request("REGISTER", user: "alice", extra: [c, "X-Flags: 1"]))?.statusCode ?? 0)
        }
        #expect(codes == [200, 200, 401, 200])
        let auth = try Self.authSection(server)
        #expect(auth["slots"] as? Int == 4096, "nc_array_size 5000 rounds down to 4096: \(auth)")
        #expect(auth["secret"] as? String == "random")
        #expect(auth["accepted"] as? Int == 3)
        #expect(auth["replays"] as? Int == 1)
        #expect(auth["slotsUsed"] as? Int == 1)
        #expect((auth["issued"] as? Int ?? 0) >= 2)
        let text = try Products.run("respite-shm", ["--shm-name", server.shmName], timeout: 10).stdout
        #expect(text.contains("auth nonces  secret random"), "\(text)")
        #expect(text.contains("slots 1/4096 in use  nc accepted 3  replays refused 1"), "\(text)")
    }

    /// PostgreSQL stopped while Respite runs: auth_check returns -1 with a log line and the
    /// UA is challenged again, within the query timeout; once the cluster is back the same
    /// credentials pass.
    @Test func aStoppedDatabaseFailsChecksAndTheyComeBack() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for file in ["standard-create.sql", "auth_db-create.sql"] {
            try cluster.psql(file: "/usr/share/kamailio/postgres/\(file)")
        }
        try cluster.psql(AuthTests.subscribers)
        let config = AuthTests.config.replacingOccurrences(of: "DBMODULE", with: "db_postgres.so")
            .replacingOccurrences(of: "DBURL", with: cluster.url)
            .replacingOccurrences(of: "modparam(\"auth\", \"nonce_expire\", 2)", with: "")
        let server = try ServerProcess(config: config, children: 1)
        defer { _ = server.stop() }
        let ua = AuthDigestClient(sip: try SIPTestClient(server: server.port))
        guard let reply = ua.sip.exchange(ua.request("REGISTER", user: "alice")),
            let challenge = AuthDigestClient.challenge(of: reply)
        else {
            Issue.record("no challenge:\n\(server.log)")
            return
        }
        let creds = AuthDigestClient.credentials(
            user: "alice", password: "secret1", challenge: challenge, method: "REGISTER", uri: ua.uri("alice"))
        func attempt() -> (code: Int, seconds: Double) {
            let started = Date()
            let code =
                ua.sip.exchange(ua.request("REGISTER", user: "alice", extra: [creds]), timeout: 5)?.statusCode ?? 0
            return (code, Date().timeIntervalSince(started))
        }
        #expect(attempt().code == 200)
        cluster.stop()
        let down = attempt()
        #expect(down.code == 401 && down.seconds < 3, "\(down)")
        #expect(server.log.contains("check=-1 au=alice"), "\(server.log.suffix(2000))")
        #expect(server.log.contains("auth_db"), "\(server.log.suffix(2000))")
        try cluster.start()
        #expect(waitUntil(timeout: 10, interval: 0.3) { attempt().code == 200 }, "\(server.log.suffix(2000))")
    }
}
