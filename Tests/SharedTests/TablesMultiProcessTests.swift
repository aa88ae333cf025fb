import Foundation
import TestSupport
import Testing

/// `$sht` and `$shv` across processes, through `respite-arena-helper` (the test runner
/// never forks), and `respite-shm` on an arena that holds both.
@Suite(.serialized) struct TablesMultiProcessTests {
    @Test func concurrentIncrementsOfOneKeyAreExact() throws {
        let r = try Products.run("respite-arena-helper", ["sht-increment", "--procs", "4", "--count", "100000",
                                                             "--shm-name", "/respite-test-\(getpid())-shtinc"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["failed_processes"] == "0")
        #expect(v["hits"] == "400000")
        #expect(v["hits"] == v["expected_hits"])
        #expect(v["locked"] == v["expected_locked"], "sht_lock + get + set + sht_unlock loses no update")
        #expect(v["items"] == "2")
    }

    @Test func aProcessKilledHoldingShtLockDoesNotWedgeTheNextLocker() throws {
        let r = try Products.run("respite-arena-helper", ["sht-lock-kill", "--shm-name", "/respite-test-\(getpid())-shtkill"],
                                    timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["holder_was"] == "child")
        #expect(v["holder_exit"] == "sigkill")
        #expect(v["waiter"] == "through", "a process blocked on the bucket got the lock once the holder died")
        #expect(v["value_after_kill"] == "2", "the holder's set survived; the waiter's increment followed")
        #expect(v["next_lock"] == "clean")
        #expect(v["final"] == "11")
        #expect(v["recoveries"] == "1")
        #expect(v["depth"] == "0", "the dead holder's nesting depth was reset")
        #expect(v["items"] == "1")
    }

    @Test func respiteShmShowsVariablesAndTables() throws {
        let name = "/respite-test-\(getpid())-held-tables"
        let (holder, line) = try Products.startReadingFirstLine("respite-arena-helper", ["hold-tables", "--shm-name", name])
        defer { shm_unlink(name) }
        #expect(line.contains("ready=1"))
        kill(holder.pid, SIGKILL)
        holder.waitUntilExit()

        let text = try Products.run("respite-shm", ["--shm-name", name])
        #expect(text.status == 0, "\(text.stdout)\n\(text.stderr)")
        for expected in ["shared variables (3)", "$shv(count) = 42", "$shv(debug) = 3", "$shv(gw) = \"sip:gw.example.com\"",
                         "hash tables (3)", "calls", "size 2^4 (16 buckets)  items 2  autoexpire 3600 s  initval 0",
                         "alice = \"busy\"  (expires in", "bob = 7", "ipban", "items 30", "... 10 more",
                         "empty            size 2^4"] {
            #expect(text.stdout.contains(expected), "missing: \(expected)")
        }

        let json = try Products.run("respite-shm", ["--shm-name", name, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let vars = try #require(object["sharedVariables"] as? [[String: Any]])
        #expect(vars.map { $0["name"] as? String } == ["count", "debug", "gw"])
        #expect(vars[0]["int"] as? Int == 42)
        #expect(vars[2]["string"] as? String == "sip:gw.example.com")
        let tables = try #require(object["hashTables"] as? [[String: Any]])
        #expect(tables.map { $0["name"] as? String } == ["calls", "ipban", "empty"])
        #expect(tables[0]["initval"] as? Int == 0)
        #expect(tables[1]["initval"] == nil)
        #expect(tables[1]["items"] as? Int == 30)
        #expect(tables[1]["itemsWalked"] as? Int == 30)
        #expect((tables[1]["shown"] as? [Any])?.count == 20)
        let shown = try #require(tables[0]["shown"] as? [[String: Any]])
        let alice = try #require(shown.first { $0["key"] as? String == "alice" })
        #expect(alice["string"] as? String == "busy")
        #expect((alice["expiresInSeconds"] as? Double ?? 0) > 3500)
        #expect((object["problems"] as? [Any])?.isEmpty == true)
    }
}
