import Foundation
import TestSupport
import Testing

/// Transactions and wheels across processes, through `respite-arena-helper` (the test
/// runner never forks), and `respite-shm` on an arena that holds both.
@Suite(.serialized) struct TransactionsMultiProcessTests {
    @Test func concurrentFindOrCreateMakesEachTransactionOnce() throws {
        let r = try Products.run("respite-arena-helper", ["tx-create-race", "--procs", "4", "--keys", "1000",
                                                             "--shm-name", "/respite-test-\(getpid())-txrace"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["failed_processes"] == "0")
        #expect(v["created"] == "1000", "exactly one transaction per key")
        #expect(v["created_by_processes"] == "1000", "exactly one process was told it created each")
        #expect(v["live"] == "1000")
        #expect(v["missing"] == "0")
        #expect(v["mismatches"] == "0", "every process got the same (index, label) for a key")
        #expect(v["live_after"] == "0")
        #expect(v["leaked_blocks"] == "0")
    }

    @Test func aLockKilledWithItsHolderComesBackThroughTheHandler() throws {
        let r = try Products.run("respite-arena-helper", ["tx-lock-kill", "--shm-name", "/respite-test-\(getpid())-txkill"],
                                    timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["holder_exit"] == "sigkill")
        #expect(v["handler_calls_first"] == "1", "the first lock after the death is reported")
        #expect(v["handler_calls_after_second"] == "1", "a clean lock is not")
        #expect(v["handler_id"] == v["tx_id"])
        #expect(v["replied"] == "1" && v["status"] == "486", "what the dead holder wrote is there")
    }

    /// A process killed in the middle of a transaction's work leaves it waiting on nothing;
    /// settling its holds arms, due now, the timer that ends the wait: removal for one it
    /// died creating (no source to answer) or had answered, 500 for one it had not
    /// answered, the branch timeout for a pending branch.
    @Test func whatAKilledProcessLeftUnfinishedIsTimedAgain() throws {
        let r = try Products.run("respite-arena-helper", ["tx-settle-kill", "--shm-name", "/respite-test-\(getpid())-txsettle"],
                                 timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        // settledN: references dropped, orphaned, removed unfilled, removals re-armed, branch timeouts re-armed.
        #expect(v["recovered_locks"] == "2", "two died holding their transaction's lock: \(r.stdout)")
        #expect(v["tx1"] == "wait" && v["settled1"] == "1,0,1,0,0", "died creating it: removed now: \(r.stdout)")
        #expect(v["tx2"] == "orphaned,fr" && v["settled2"] == "1,1,0,0,0", "unanswered: 500 by its fr timer: \(r.stdout)")
        #expect(v["tx3"] == "wait" && v["settled3"] == "1,0,0,1,0", "answered: removed now: \(r.stdout)")
        #expect(v["tx4"] == "branchfr" && v["settled4"] == "1,0,0,0,1", "its branch times out now: \(r.stdout)")
    }

    @Test func aWheelArmedByManyAndExpiredByOneFiresEachLinkOnce() throws {
        let r = try Products.run("respite-arena-helper", ["wheel-fire", "--procs", "3", "--links", "3000",
                                                             "--shm-name", "/respite-test-\(getpid())-wheel"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let v = r.values
        #expect(v["failed_armers"] == "0")
        #expect(v["expirer"] == "done")
        #expect(v["fired_once"] == "3000")
        #expect(v["fired_twice"] == "0")
        #expect(v["armed"] == "0")
        #expect(v["fired_total"] == "3000")
        #expect(v["armed_total"] == v["expected_armed_total"], "re-arming moved links and counted again")
    }

    @Test func respiteShmShowsTransactionsAndWheels() throws {
        let name = "/respite-test-\(getpid())-held-tx"
        let (holder, line) = try Products.startReadingFirstLine("respite-arena-helper", ["hold-transactions", "--shm-name", name])
        defer { shm_unlink(name) }
        #expect(line.contains("ready=1"))
        kill(holder.pid, SIGKILL)
        holder.waitUntilExit()
        let suspendedName = line.split(separator: " ").first { $0.hasPrefix("suspended=") }.map { String($0.dropFirst(10)) } ?? "?"

        let text = try Products.run("respite-shm", ["--shm-name", name])
        #expect(text.status == 0, "\(text.stdout)\n\(text.stderr)")
        for expected in ["txtable        transactions", "wheel.tm       timer wheel", "transactions (34 live)",
                         "buckets 256  created 34  destroyed 0  suspended 2  stale lookups 1  failed creates 0",
                         "walked 34: suspended 2  replied 1  relayed 1  canceled 0  timed out 0",
                         "\(suspendedName)", "[invite,suspended]", "call-id c1@10.0.0.1", "resumes: route 3  group 1  due in ",
                         "MESSAGE", "resumes: block 7 from action 2", "status 200", "[replied]",
                         "branch 0 -> udp:10.0.0.1:5060  last status 180", "[used,provisional]", "branch 1 -> tcp:192.168.0.7:5070#7",
                         "from udp:127.0.0.1:5060",
                         "... 14 more", "timer wheels (1)", "tm               tick 100 ms  slots 256  armed 2  armed-total 2  fired-total 0  next due"] {
            #expect(text.stdout.contains(expected), "missing: \(expected)")
        }

        let json = try Products.run("respite-shm", ["--shm-name", name, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["problems"] as? [Any])?.isEmpty == true)
        let tx = try #require(object["transactions"] as? [String: Any])
        #expect(tx["live"] as? Int == 34 && tx["walked"] as? Int == 34 && tx["suspended"] as? Int == 2)
        #expect((tx["byState"] as? [String: Any])?["suspended"] as? Int == 2)
        let shown = try #require(tx["shown"] as? [[String: Any]])
        #expect(shown.count == 20)
        let invite = try #require(shown.first { $0["callID"] as? String == "c1@10.0.0.1" })
        #expect("\(invite["index"] ?? ""):\(invite["label"] ?? "")" == suspendedName)
        #expect(invite["method"] as? String == "INVITE")
        #expect(invite["flags"] as? [String] == ["invite", "suspended"])
        #expect(invite["refcount"] as? Int == 3, "the table's, the holder's and the fr timer's")
        let resume = try #require(invite["resume"] as? [String: Any])
        #expect(resume["kind"] as? String == "route" && resume["route"] as? Int == 3)
        #expect((resume["dueInMs"] as? Int ?? 0) > 50_000)
        #expect((invite["ageMs"] as? Int ?? -1) >= 0)
        let wheels = try #require(object["wheels"] as? [[String: Any]])
        #expect(wheels.count == 1 && wheels[0]["name"] as? String == "tm" && wheels[0]["armed"] as? Int == 2)
        #expect(wheels[0]["nextDueInMs"] != nil)
    }
}
