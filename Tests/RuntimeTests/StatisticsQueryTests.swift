import Foundation
import Runtime
import SIP
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// ProcessStatistics (the per-process counting handle) and the queries the management
/// interface answers, on an arena laid out as the master lays it out.
@Suite struct StatisticsQueryTests {
    /// An arena with the server's statistics and `slots` process rows.
    func makeArena(_ tag: String) throws -> Arena {
        let arena = try Arena.create(name: "/respite-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))", size: 4 << 20)
        _ = try arena.ref.install(ArenaLayout(processCapacity: 4))
        _ = try arena.ref.installStatistics(ServerStatistics.definitions, processCapacity: 4)
        return arena
    }

    @Test func namesAreKamailios() {
        let names = Set(ServerStatistics.definitions.map(\.qualifiedName))
        #expect(names.count == ServerStatistics.definitions.count)
        #expect(!names.contains("core:rcv_requests_kdmq"), "not in Kamailio 5.6.3")
        for name in ["core:rcv_requests", "core:rcv_replies_18x", "core:rcv_replies_6xx_reg",
                     "core:bad_msg_hdr", "tm:rpl_generated", "tm:2xx", "tm:current", "sl:1xx_replies", "sl:xxx_replies",
                     "sl:sent_err_replies", "sl:failures"] {
            #expect(names.contains(name), "\(name)")
        }
        #expect(ServerStatistics.definitions.filter { $0.kind == .gauge }.map(\.qualifiedName) == ["tm:current", "tm:waiting"])
    }

    @Test func eachProcessCountsInItsRowWithTheRightBuckets() throws {
        let arena = try makeArena("count")
        defer { try? arena.unlink() }
        let one = ProcessStatistics(arena: arena.ref, slot: 1), two = ProcessStatistics(arena: arena.ref, slot: 2)
        #expect(one.isCounting && !ProcessStatistics(arena: arena.ref, slot: 4).isCounting)
        one.requestReceived(.invite)
        two.requestReceived(.other("KDMQ"))
        two.requestReceived(.other("FOO"))
        one.replyReceived(status: 183, cseqMethod: .invite)
        two.replyReceived(status: 486, cseqMethod: .register)
        two.replyReceived(status: 200, cseqMethod: .options)
        for code in [200, 201, 302, 404, 408, 499, 500, 503, 606, 700] { one.statelessReplySent(status: code) }
        one.transactionCompleted(status: 486)

        let v = Dictionary(ServerStatistics.entries(arena: arena.ref, matching: ["all"], includingTM: true).map { ("\($0.group):\($0.name)", $0.value) },
                           uniquingKeysWith: { a, _ in a })
        #expect(v["core:rcv_requests"] == 3)
        #expect(v["core:rcv_requests_invite"] == 1 && v["core:unsupported_methods"] == 1, "KDMQ is known, without a counter")
        #expect(v["core:rcv_replies"] == 3)
        #expect(v["core:rcv_replies_1xx"] == 1 && v["core:rcv_replies_18x"] == 1 && v["core:rcv_replies_1xx_invite"] == 1)
        #expect(v["core:rcv_replies_4xx"] == 1 && v["core:rcv_replies_486"] == 1 && v["core:rcv_replies_4xx_reg"] == 1)
        #expect(v["core:rcv_replies_2xx"] == 1, "an OPTIONS reply has a class, no per-method counter")
        #expect(v["sl:200_replies"] == 1 && v["sl:2xx_replies"] == 1 && v["sl:302_replies"] == 1)
        #expect(v["sl:404_replies"] == 1 && v["sl:408_replies"] == 1 && v["sl:4xx_replies"] == 1)
        #expect(v["sl:500_replies"] == 1 && v["sl:5xx_replies"] == 1 && v["sl:6xx_replies"] == 1 && v["sl:xxx_replies"] == 1)
        #expect(v["sl:sent_replies"] == 10)
        #expect(v["tm:4xx"] == 1)
        #expect(v["tm:current"] == 0, "a gauge without a transaction table reads 0")
        let stats = try #require(arena.ref.statistics)
        #expect(stats.row(slot: 2)?[try #require(stats.index(of: "core:rcv_requests"))] == 2)
    }

    @Test func selectsAndResetsAsKamailiosStatsRPCs() throws {
        let arena = try makeArena("query")
        defer { try? arena.unlink() }
        let p = ProcessStatistics(arena: arena.ref, slot: 0)
        p.requestReceived(.options)
        p.statelessReplySent(status: 200)
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["rcv_requests"])
                == [.init(group: "core", name: "rcv_requests", value: 1, isGauge: false)])
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["core:rcv_requests"]).isEmpty, "as in Kamailio")
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["nosuch"]).isEmpty)
        let sl = ServerStatistics.group("sl", arena: arena.ref)
        #expect(sl.count == SLStatistic.allCases.count && sl.allSatisfy { $0.group == "sl" })
        #expect(sl.first { $0.name == "200_replies" }?.value == 1)
        #expect(ServerStatistics.group("tm", arena: arena.ref).map(\.name).suffix(2) == ["current", "waiting"])
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["tm:"]).isEmpty, "in Kamailio only tm.stats shows tm's")
        #expect(!ServerStatistics.entries(arena: arena.ref, matching: ["all"]).contains { $0.group == "tm" })

        #expect(ServerStatistics.reset(arena: arena.ref, matching: ["sl:", "rcv_requests"]) == SLStatistic.allCases.count + 1)
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["rcv_requests", "rcv_requests_options"]).map(\.value) == [0, 1])
        #expect(ServerStatistics.group("sl", arena: arena.ref).allSatisfy { $0.value == 0 })
        p.requestReceived(.options)
        #expect(ServerStatistics.entries(arena: arena.ref, matching: ["rcv_requests"]).first?.value == 1)
        #expect(ServerStatistics.reset(arena: arena.ref, matching: ["current"]) == 0, "gauges are not reset")
    }
}
