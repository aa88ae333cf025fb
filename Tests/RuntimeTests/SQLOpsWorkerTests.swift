import Foundation
import SIP
import Testing
import TestSupport

/// Issue 14's "done when" 2, on Kamailio 5.6.3 and on Respite with one config: a request
/// handed to an async task worker (async_task_route) is answered there from a subscriber
/// row that sql_query read. And sqlops on PostgreSQL, from Kamailio's postgres schema.
@Suite(.serialized) struct SQLOpsWorkerTests {
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    async_workers=2
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "db_sqlite.so"
    loadmodule "tm.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "textops.so"
    loadmodule "async.so"
    loadmodule "sqlops.so"
    modparam("sqlops", "sqlcon", "ca=>DBURL")
    request_route {
        if (is_method("ACK")) { exit; }
        xlog("L_INFO", "SQLRECV $pp\\n");
        async_task_route("LOOKUP");
        exit;
    }
    route[LOOKUP] {
        $var(r) = sql_query("ca", "select password, id from subscriber where username='$rU' and domain='example.com'", "ra");
        xlog("L_INFO", "SQLTASK $pp r=$var(r) rows=$dbr(ra=>rows)\\n");
        if ($var(r) == 1) {
            send_reply("200", "pw=$dbr(ra=>[0,0]) id=$dbr(ra=>[0,1])");
        } else {
            send_reply("404", "r=$var(r)");
        }
        exit;
    }
    """

    /// The pids of the `SQLRECV` / `SQLTASK` lines, and the task lines' text after the pid.
    static func lines(_ log: String) -> (receivers: Set<String>, workers: Set<String>, tasks: [String]) {
        var receivers: Set<String> = [], workers: Set<String> = [], tasks: [String] = []
        for line in log.split(separator: "\n") {
            if let at = line.range(of: "SQLRECV ") { receivers.insert(String(line[at.upperBound...])) }
            if let at = line.range(of: "SQLTASK ") {
                let words = line[at.upperBound...].split(separator: " ", maxSplits: 1)
                workers.insert(String(words[0]))
                tasks.append(String(words.last ?? ""))
            }
        }
        return (receivers, workers, tasks)
    }

    @Test func sqlQueryInATaskWorkerAnswersFromASubscriberRowOnBothServers() throws {
        let db = try SQLOpsTests.sqliteDatabase()
        let config = Self.config.replacingOccurrences(of: "DBURL", with: db.url)
        let results = try KamailioServer.playBoth(config: config) { port, log -> [String] in
            let client = try SIPTestClient(server: port)
            var seen: [String] = []
            for user in ["alice", "bob", "carol"] {
                let reply = try #require(client.exchange(client.request("OPTIONS", user: user), timeout: 5), "no reply for \(user)")
                seen.append("\(reply.statusCode) \(reply.reasonPhrase)")
            }
            #expect(waitUntil(timeout: 2) { Self.lines(log()).tasks.count == 3 })
            let found = Self.lines(log())
            #expect(!found.workers.isEmpty && found.receivers.isDisjoint(with: found.workers),
                    "the route ran in a receiver: \(found)")
            return seen + found.tasks
        }
        let expected = ["200 pw=secret id=1", "200 pw=pw2 id=2", "404 r=2", "r=1 rows=1", "r=1 rows=1", "r=2 rows=0"]
        #expect(results.kamailio == expected)
        #expect(results.respite == expected)
    }

    @Test func queriesRunOnPostgreSQLFromKamailiosSchema() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        for part in ["standard", "auth_db"] { try cluster.psql(file: "/usr/share/kamailio/postgres/\(part)-create.sql") }
        try cluster.psql("insert into subscriber (username, domain, password, ha1) values ('alice', 'example.com', 'secret', 'h1'), ('bob', 'example.com', 'pw2', 'h2')")
        let server = try ServerProcess(config: SQLOpsTests.config.replacingOccurrences(of: "DBURL", with: cluster.url))
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try SQLOpsTests.reason(client, "query", ["X-User: alice"]) == "200 r=1 rows=1 cols=2 password=secret id=1")
        #expect(try SQLOpsTests.reason(client, "cells") == "200 r=1 alice example.com bob example.com empty=2/0/0 discarded=3 pre=0")
        #expect(try SQLOpsTests.reason(client, "pvquery") == "200 r=1 pw=secret ids=1,2 bad=-1")
        #expect(try SQLOpsTests.reason(client, "update", ["X-Value: 42"]) == "200 r=2 sqlrows=2 r2=1 freed=0")
        let nasty = "x'); DELETE FROM subscriber; --"
        // PostgreSQL text cannot hold a NUL: the driver ends the value there.
        #expect(try SQLOpsTests.reason(client, "inject", ["X-User: \(nasty)"]) == "200 r=221 back=\(nasty) rows=4")
        #expect(try cluster.psql("select username from subscriber where domain = 'nul.test'").trimmingCharacters(in: .whitespacesAndNewlines) == "n'ul;")
        #expect(try SQLOpsTests.reason(client, "async", ["X-Value: it's; async"]) == "200 r=1")
        #expect(waitUntil(timeout: 3, interval: 0.05) {
            (try? cluster.psql("select ha1 from subscriber where username = 'bob'"))?.trimmingCharacters(in: .whitespacesAndNewlines) == "it's; async"
        })
    }

    /// With connect_mode 0 the server does not start while a connection's database is
    /// down; with 1 it starts and a query fails (-1) until the database answers.
    @Test func connectModeDecidesWhetherADownDatabaseStopsTheStart() throws {
        let cluster = try PostgresCluster()
        defer { cluster.remove() }
        try cluster.psql(file: "/usr/share/kamailio/postgres/standard-create.sql")
        try cluster.psql(file: "/usr/share/kamailio/postgres/auth_db-create.sql")
        cluster.stop()
        let config = SQLOpsTests.config.replacingOccurrences(of: "DBURL", with: cluster.url)
        do {
            let started = try ServerProcess(config: config, timeout: 5)
            _ = started.stop()
            Issue.record("the server started without its database")
        } catch let failure as ServerFailed {
            #expect(failure.log.contains("sqlops:") && failure.log.contains("127.0.0.1:\(cluster.port)"), "\(failure.log)")
        }
        let lenient = config.replacingOccurrences(of: "request_route {", with: "modparam(\"sqlops\", \"connect_mode\", 1)\nrequest_route {")
        let server = try ServerProcess(config: lenient)
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try SQLOpsTests.reason(client, "query", ["X-User: alice"]) == "200 r=-1 rows=0 cols=0 <null>=<null> <null>=<null>")
        try cluster.start()
        try cluster.psql("insert into subscriber (username, domain, password) values ('alice', 'example.com', 'secret')")
        #expect(waitUntil(timeout: 5, interval: 0.2) {
            (try? SQLOpsTests.reason(client, "query", ["X-User: alice"])) == "200 r=1 rows=1 cols=2 password=secret id=1"
        })
    }
}
