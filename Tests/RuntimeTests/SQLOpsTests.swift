import Foundation
import SIP
import Testing
import TestSupport

/// sqlops over UDP against a SQLite file made from Kamailio's schema files: each function's
/// answer in the reply, `$dbr` and `$sqlrows`, a failing query, values with quotes,
/// semicolons and a NUL that must travel as data, sql_query_async, and load-time errors.
@Suite(.serialized) struct SQLOpsTests {
    /// The routes every database test shares; DBURL is replaced by the test's URL.
    static let config = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=1
    listen=udp:127.0.0.1:PORT
    async_workers=1
    loadmodule "db_sqlite.so"
    loadmodule "db_postgres.so"
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "textops.so"
    loadmodule "sqlops.so"
    modparam("sqlops", "sqlcon", "ca=>DBURL")
    modparam("sqlops", "sqlres", "pre")
    request_route {
        if ($rU == "query") {
            $var(r) = sql_query("ca", "select password, id from subscriber where username='$hdr(X-User)' and domain='example.com'", "ra");
            sl_send_reply("200", "r=$var(r) rows=$dbr(ra=>rows) cols=$dbr(ra=>cols) $dbr(ra=>colname[0])=$dbr(ra=>[0,0]) $dbr(ra=>colname[1])=$dbr(ra=>[0,1])");
            exit;
        }
        if ($rU == "cells") {
            $var(r) = sql_query("ca", "select username, domain from subscriber where domain = 'example.com' order by id", "ra");
            $var(out) = "r=" + $var(r);
            $var(i) = 0;
            while ($var(i) < $dbr(ra=>rows)) {
                $var(j) = 0;
                while ($var(j) < $dbr(ra=>cols)) {
                    $var(out) = $var(out) + " " + $dbr(ra=>[$var(i),$var(j)]);
                    $var(j) = $var(j) + 1;
                }
                $var(i) = $var(i) + 1;
            }
            $var(q) = sql_query("ca", "select id from subscriber where id < 0", "ra");
            $var(n) = sql_query("ca", "select id from subscriber");
            sl_send_reply("200", "$var(out) empty=$var(q)/$dbr(ra=>rows)/$dbr(ra=>cols) discarded=$var(n) pre=$dbr(pre=>rows)");
            exit;
        }
        if ($rU == "xquery") {
            $var(r) = sql_xquery("ca", "select username, id from subscriber where domain='example.com' order by id", "xr");
            $var(n) = sql_xquery("ca", "select username from subscriber where id = $hdr(X-Id)", "xn");
            sl_send_reply("200", "r=$var(r) $xavp(xr[0]=>username)/$xavp(xr[0]=>id) $xavp(xr[1]=>username)/$xavp(xr[1]=>id) none=$var(n)");
            exit;
        }
        if ($rU == "pvquery") {
            $var(r) = sql_pvquery("ca", "select password, id from subscriber where domain='example.com' order by id", "$var(pw); $avp(ids)");
            $var(bad) = sql_pvquery("ca", "select password, id, ha1 from subscriber", "$var(x), $var(y)");
            sl_send_reply("200", "r=$var(r) pw=$var(pw) ids=$(avp(ids)[0]),$(avp(ids)[1]) bad=$var(bad)");
            exit;
        }
        if ($rU == "update") {
            $var(r) = sql_query("ca", "update subscriber set ha1b = $hdr(X-Value) where domain = 'example.com'");
            $var(n) = $sqlrows(ca);
            $var(r2) = sql_query("ca", "select ha1b from subscriber where username = 'alice'", "rb");
            $var(f) = sql_result_free("rb");
            sl_send_reply("200", "r=$var(r) sqlrows=$var(n) r2=$var(r2) freed=$dbr(rb=>rows)");
            exit;
        }
        if ($rU == "error") {
            $var(r) = sql_query("ca", "select nosuchcolumn from subscriber", "re");
            sl_send_reply("500", "r=$var(r)");
            exit;
        }
        if ($rU == "inject") {
            $var(nul) = "n'ul;\0tail";
            $var(r1) = sql_query("ca", "insert into subscriber (username, domain) values ('$hdr(X-User)', 'inject.test')");
            $var(r2) = sql_query("ca", "insert into subscriber (username, domain) values ($var(nul), 'nul.test')");
            $var(r3) = sql_query("ca", "select username from subscriber where domain = 'inject.test' and username = '$hdr(X-User)'", "ri");
            $var(r4) = sql_query("ca", "select count(*) from subscriber", "rn");
            sl_send_reply("200", "r=$var(r1)$var(r2)$var(r3) back=$dbr(ri=>[0,0]) rows=$dbr(rn=>[0,0])");
            exit;
        }
        if ($rU == "async") {
            $var(r) = sql_query_async("ca", "update subscriber set ha1 = '$hdr(X-Value)' where username = 'bob'");
            sl_send_reply("200", "r=$var(r)");
            exit;
        }
        sl_send_reply("404", "unknown case");
        exit;
    }
    """

    /// A SQLite file made with Kamailio's schema files, holding alice (id 1) and bob (id 2).
    static func sqliteDatabase() throws -> (file: String, url: String) {
        let dir = try Spawn.scratchDirectory("sqlops")
        let file = dir.appendingPathComponent("kamailio.sqlite").path
        let schema = "/usr/share/kamailio/db_sqlite"
        for part in ["standard", "auth_db"] {
            let r = try Spawn.run("/bin/sh", ["-c", "sqlite3 '\(file)' < \(schema)/\(part)-create.sql"])
            guard r.status == 0 else { throw Spawn.Failure("sqlite3: \(r.output)") }
        }
        try sqlite(file, "insert into subscriber (username, domain, password, ha1) values ('alice', 'example.com', 'secret', 'h1'), ('bob', 'example.com', 'pw2', 'h2')")
        return (file, "sqlite:///" + file)
    }

    @discardableResult
    static func sqlite(_ file: String, _ sql: String) throws -> String {
        let r = try Spawn.run("/usr/bin/sqlite3", [file, sql])
        guard r.status == 0 else { throw Spawn.Failure("sqlite3: \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func reason(_ client: SIPTestClient, _ user: String, _ headers: [String] = []) throws -> String {
        let reply = try #require(client.exchange(client.request("OPTIONS", user: user, headers: headers)), "no reply to \(user)")
        return "\(reply.statusCode) \(reply.reasonPhrase)"
    }

    @Test func everyFunctionAnswersFromTheSubscriberTable() throws {
        let db = try Self.sqliteDatabase()
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "DBURL", with: db.url))
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "query", ["X-User: alice"]) == "200 r=1 rows=1 cols=2 password=secret id=1")
        #expect(try Self.reason(client, "query", ["X-User: nobody"]) == "200 r=2 rows=0 cols=0 <null>=<null> <null>=<null>")
        #expect(try Self.reason(client, "cells") == "200 r=1 alice example.com bob example.com empty=2/0/0 discarded=3 pre=0")
        #expect(try Self.reason(client, "xquery", ["X-Id: 99"]) == "200 r=1 alice/1 bob/2 none=2")
        #expect(try Self.reason(client, "pvquery") == "200 r=1 pw=secret ids=1,2 bad=-1")
        let update = try Self.reason(client, "update", ["X-Value: 42"])
        #expect(update == "200 r=2 sqlrows=2 r2=1 freed=0")
        #expect(try Self.sqlite(db.file, "select ha1b from subscriber order by id") == "42\n42")
        #expect(server.log.contains("3 columns for 2 variables"))
    }

    @Test func aFailingQueryReturnsMinusOneWithALogLine() throws {
        let db = try Self.sqliteDatabase()
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "DBURL", with: db.url))
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "error") == "500 r=-1")
        #expect(waitUntil(timeout: 2) { server.log.contains("query on 'ca' failed") && server.log.contains("nosuchcolumn") })
    }

    /// A quote, a semicolon and a NUL in script values are data: the rows hold them byte
    /// for byte and no other statement ran.
    @Test func quotesSemicolonsAndNULsTravelAsData() throws {
        let db = try Self.sqliteDatabase()
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "DBURL", with: db.url))
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        let nasty = "x'); DELETE FROM subscriber; --"
        let inject = try Self.reason(client, "inject", ["X-User: \(nasty)"])
        #expect(inject == "200 r=221 back=\(nasty) rows=4")
        let hex = try Self.sqlite(db.file, "select hex(username) from subscriber where domain = 'nul.test'")
        #expect(hex == Array("n'ul;\u{0}tail".utf8).map { String(format: "%02X", $0) }.joined())
        #expect(try Self.sqlite(db.file, "select username from subscriber where domain = 'inject.test'") == nasty)
    }

    @Test func sqlQueryAsyncRunsInATaskWorkerAndReturnsAtOnce() throws {
        let db = try Self.sqliteDatabase()
        let server = try ServerProcess(config: Self.config.replacingOccurrences(of: "DBURL", with: db.url))
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "async", ["X-Value: it's; async"]) == "200 r=1")
        #expect(waitUntil(timeout: 3, interval: 0.05) {
            (try? Self.sqlite(db.file, "select ha1 from subscriber where username = 'bob'")) == "it's; async"
        })
    }

    /// Declared results count: with results_maxsize 2 and one sqlres, a second name fits
    /// and a third is refused with a log line; a name already kept can be filled again.
    @Test func resultsMaxsizeBoundsTheResultsAProcessKeeps() throws {
        let db = try Self.sqliteDatabase()
        let config = """
        #!KAMAILIO
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "db_sqlite.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "sqlops.so"
        modparam("sqlops", "sqlcon", "ca=>\(db.url)")
        modparam("sqlops", "sqlres", "pre")
        modparam("sqlops", "results_maxsize", 2)
        request_route {
            $var(a) = sql_query("ca", "select id from subscriber", "one");
            $var(b) = sql_query("ca", "select id from subscriber", "two");
            $var(c) = sql_query("ca", "select id from subscriber", "pre");
            $var(d) = sql_query("ca", "select id from subscriber", "one");
            sl_send_reply("200", "$var(a) $var(b) $var(c) $var(d) $dbr(pre=>rows) $dbr(two=>rows)");
            exit;
        }
        """
        let server = try ServerProcess(config: config)
        defer { _ = server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "any") == "200 1 -1 1 1 2 0")
        #expect(waitUntil(timeout: 2) { server.log.contains("results_maxsize") })
    }

    @Test func unsafeOrUnknownQueriesAreRejectedAtLoad() throws {
        let respite = Products.path("respite")
        let base = "#!KAMAILIO\nloadmodule \"db_sqlite.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\nloadmodule \"sqlops.so\"\nmodparam(\"sqlops\", \"sqlcon\", \"ca=>sqlite:////tmp/none.db\")\n"
        let cases: [(String, String)] = [
            ("request_route {\n  $var(q) = \"select 1\";\n  sql_query(\"ca\", \"$var(q)\", \"r\");\n}\n", "cannot hold the whole statement"),
            ("request_route {\n  sql_query(\"ca\", $var(q), \"r\");\n}\n", "cannot hold the whole statement"),
            ("request_route {\n  sql_query(\"ca\", \"select \\\"$rU\\\" from t\", \"r\");\n}\n", "quoted identifier"),
            ("request_route {\n  sql_query(\"ca\", \"select 'a from t\", \"r\");\n}\n", "not closed"),
            ("request_route {\n  sql_query(\"ca\", \"select ? from t\");\n}\n", "'?'"),
            ("request_route {\n  sql_query(\"cb\", \"select 1\", \"r\");\n}\n", "no sqlcon named 'cb'"),
            ("request_route {\n  sql_query(\"ca\", \"select 1\", \"r r\");\n}\n", "not a result name"),
            ("request_route {\n  sql_query_async(\"ca\", \"delete from t\");\n}\n", "async_workers"),
            ("request_route {\n  xlog(\"$dbr(r=>row)\");\n}\n", "unknown key"),
            ("request_route {\n  sql_pvquery(\"ca\", \"select 1\", \"$var(a), $rm\");\n}\n", "rm"),
            ("modparam(\"sqlops\", \"sqlcon\", \"ca=>sqlite:////tmp/other.db\")\nrequest_route { exit; }\n", "defined twice"),
            ("modparam(\"sqlops\", \"sqlcon\", \"cx\")\nrequest_route { exit; }\n", "name=>database_url"),
            ("modparam(\"sqlops\", \"connect_mode\", 2)\nrequest_route { exit; }\n", "connect_mode"),
        ]
        let dir = try Spawn.scratchDirectory("sqlops-c")
        for (i, (body, needle)) in cases.enumerated() {
            let file = dir.appendingPathComponent("case\(i).cfg")
            try (base + body).write(to: file, atomically: true, encoding: .utf8)
            let r = try Spawn.run(respite, ["-c", "-f", file.path])
            #expect(r.status == 1, "case \(i) must be rejected:\n\(r.output)")
            #expect(r.output.contains("case\(i).cfg:") && r.output.contains(needle), "case \(i):\n\(r.output)")
        }
    }
}
