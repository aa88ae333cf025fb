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

    /// The functions' return codes and what `$dbr`, `$xavp` and the variables then hold, in
    /// `SQLCMP` log lines, on both servers (what the two differ on by design, `$sqlrows` on
    /// SQLite and real numbers, is left out).
    static let compareConfig = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    loadmodule "db_sqlite.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "sqlops.so"
    modparam("sqlops", "sqlcon", "ca=>DBURL")
    request_route {
        $var(r) = sql_query("ca", "select username, password, id from subscriber where domain='example.com' order by id", "ra");
        xlog("L_INFO", "SQLCMP 1 $var(r) $dbr(ra=>rows) $dbr(ra=>cols) $dbr(ra=>[0,0]) $dbr(ra=>[1,2]) $dbr(ra=>colname[1]) $dbr(ra=>[5,0]) $dbr(ra=>colname[7])\n");
        $var(r) = sql_query("ca", "select nosuchcolumn from subscriber", "ra");
        xlog("L_INFO", "SQLCMP 2 $var(r) $dbr(ra=>rows) $dbr(ra=>[0,0])\n");
        $var(r) = sql_query("ca", "select username from subscriber where username='$rU'", "ra");
        xlog("L_INFO", "SQLCMP 3 $var(r) $dbr(ra=>rows) $dbr(ra=>cols) $dbr(ra=>[0,0])\n");
        $var(r) = sql_query("ca", "select username from subscriber");
        xlog("L_INFO", "SQLCMP 4 $var(r)\n");
        $var(r) = sql_query("ca", "update subscriber set ha1b='x' where id = 2", "rb");
        xlog("L_INFO", "SQLCMP 5 $var(r) $dbr(rb=>rows)\n");
        $var(r) = sql_xquery("ca", "select username, id, NULL as blank from subscriber order by id", "xr");
        xlog("L_INFO", "SQLCMP 6 $var(r) $xavp(xr[0]=>username) $xavp(xr[1]=>username) $xavp(xr[0]=>id) $xavp(xr=>username) $xavp(xr[0]=>blank)\n");
        $var(r) = sql_xquery("ca", "select username from subscriber where id = 99", "xs");
        xlog("L_INFO", "SQLCMP 7 $var(r)\n");
        $var(r) = sql_pvquery("ca", "select username, id, 'sip:x@example.com' from subscriber order by id", "$var(a), $avp(b); $ru");
        xlog("L_INFO", "SQLCMP 8 $var(r) $var(a) $avp(b) $(avp(b)[1]) $ru\n");
        $var(r) = sql_pvquery("ca", "select username, id, password from subscriber", "$var(a), $avp(b)");
        xlog("L_INFO", "SQLCMP 9 $var(r)\n");
        sql_query("ca", "select id from subscriber order by id", "ra");
        sql_result_free("ra");
        xlog("L_INFO", "SQLCMP 10 $dbr(ra=>rows) $dbr(ra=>cols) $dbr(ra=>[0,0])\n");
        sl_send_reply("200", "compared");
        exit;
    }
    """

    @Test func returnCodesAndValuesMatchKamailio() throws {
        let db = try SQLOpsTests.sqliteDatabase()
        let config = Self.compareConfig.replacingOccurrences(of: "DBURL", with: db.url)
        let results = try KamailioServer.playBoth(config: config) { port, log -> [String] in
            let client = try SIPTestClient(server: port)
            let reply = try #require(client.exchange(client.request("OPTIONS", user: "alice")))
            #expect(reply.statusCode == 200)
            #expect(waitUntil(timeout: 2) { log().contains("SQLCMP 10 ") })
            return log().split(separator: "\n").compactMap { line in
                line.range(of: "SQLCMP ").map { String(line[$0.upperBound...]) }
            }
        }
        #expect(results.kamailio.count == 10)
        #expect(results.respite == results.kamailio)
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
    /// down; with 1 it starts and a query fails (-1) until the database answers; a database
    /// lost while running fails the queries at once and is used again when it is back.
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
        let found = "200 r=1 rows=1 cols=2 password=secret id=1"
        #expect(waitUntil(timeout: 5, interval: 0.2) { (try? SQLOpsTests.reason(client, "query", ["X-User: alice"])) == found })
        // Down while running: the query fails within the query timeout, then comes back.
        cluster.stop()
        let start = Date()
        #expect(try SQLOpsTests.reason(client, "query", ["X-User: alice"]) == "200 r=-1 rows=0 cols=0 <null>=<null> <null>=<null>")
        #expect(Date().timeIntervalSince(start) < 2.5)
        try cluster.start()
        #expect(waitUntil(timeout: 5, interval: 0.2) { (try? SQLOpsTests.reason(client, "query", ["X-User: alice"])) == found })
    }
}
