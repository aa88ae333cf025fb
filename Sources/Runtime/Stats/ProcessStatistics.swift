import CShared
import SIP
import Shared

/// One process's way to count Kamailio's statistics (section "stats"): the indexes of
/// every statistic it counts, found once when the process starts, and its own row of
/// counters. Counting is one relaxed add to that row: no lookup, no string. A process
/// with no slot in the section (or an arena without it) counts nothing.
///
/// Owned by the process (in its `ProcessContext`); the counters it writes are the
/// arena's, written only by this process (its process table slot), read by anyone.
public final class ProcessStatistics {
    /// This process's row; nil: nothing is counted.
    let row: UnsafeMutablePointer<UInt64>?
    /// Section indexes, by the raw value (or position) of what they count; `missing` when
    /// the section lacks the statistic.
    let core: [UInt32]
    let tm: [UInt32]
    let sl: [UInt32]
    let requestMethod: [UInt32]
    let replyClass: [UInt32]
    let replyCode: [UInt32]
    /// replyClass × replyMethods, class-major.
    let replyClassMethod: [UInt32]

    static let missing = UInt32.max

    /// Looks every statistic up in `arena`'s section "stats" (once per process).
    public init(arena: ArenaRef, slot: Int32) {
        let stats = arena.statistics
        func find(_ group: String, _ names: [String]) -> [UInt32] {
            names.map { name in stats?.index(group: group, name: name).map(UInt32.init) ?? Self.missing }
        }
        row = stats?.row(slot: slot)
        core = find("core", CoreStatistic.allCases.map(\.name))
        tm = find("tm", TMStatistic.allCases.map(\.name))
        sl = find("sl", SLStatistic.allCases.map(\.name))
        requestMethod = find("core", ServerStatistics.requestMethods.map { "rcv_requests_\($0)" })
        replyClass = find("core", ServerStatistics.replyClasses.map { "rcv_replies_\($0)" })
        replyCode = find("core", ServerStatistics.replyCodes.map { "rcv_replies_\($0)" })
        replyClassMethod = find("core", ServerStatistics.replyClasses.flatMap { c in
            ServerStatistics.replyMethods.map { "rcv_replies_\(c)_\($0)" }
        })
    }

    /// Whether this process counts anything.
    public var isCounting: Bool { row != nil }

    @inline(__always)
    func add(_ index: UInt32, _ delta: UInt64 = 1) {
        guard let row, index != Self.missing else { return }
        cs_stats_row_add(row, index, delta)
    }

    @inline(__always)
    public func count(_ s: CoreStatistic, _ delta: UInt64 = 1) { add(core[s.rawValue], delta) }
    @inline(__always)
    public func count(_ s: TMStatistic, _ delta: UInt64 = 1) { add(tm[s.rawValue], delta) }
    @inline(__always)
    public func count(_ s: SLStatistic, _ delta: UInt64 = 1) { add(sl[s.rawValue], delta) }

    /// A parsed request: core:rcv_requests and its method's counter (or
    /// core:unsupported_methods).
    @inline(__always)
    public func requestReceived(_ method: SIPMethod) {
        guard row != nil else { return }
        count(.rcvRequests)
        switch ServerStatistics.requestMethodCounter(method) {
        case .at(let m): add(requestMethod[m])
        case .known: break
        case .unsupported: count(.unsupportedMethods)
        }
    }

    /// A parsed reply: core:rcv_replies, its class, its code when Kamailio counts that
    /// code alone, and its class for its CSeq method.
    @inline(__always)
    public func replyReceived(status: Int, cseqMethod: SIPMethod) {
        guard row != nil else { return }
        count(.rcvReplies)
        let c = status / 100 - 1
        guard (0..<6).contains(c) else { return }
        add(replyClass[c])
        if let k = ServerStatistics.replyCodeIndex(status) { add(replyCode[k]) }
        if let m = ServerStatistics.replyMethodIndex(cseqMethod) {
            add(replyClassMethod[c * ServerStatistics.replyMethods.count + m])
        }
    }

    /// A message that did not parse, counted where Kamailio 5.6 counts it (observed on
    /// loopback): a broken Via or header line is core:bad_msg_hdr; a missing or broken
    /// From, To, Call-ID or CSeq (or a body that does not match Content-Length) is
    /// core:err_requests or core:err_replies; a broken start line is counted nowhere
    /// (the process table's parse_errors counts every one).
    public func parseFailed(_ error: SIPParseError, isReply: Bool) {
        switch error.kind {
        case .badHeader(.via), .missingHeader(.via), .duplicateHeader(.via), .badHeaderLine, .truncatedHeaders,
             .lineTooLong, .tooManyHeaders:
            count(.badMsgHdr)
        case .badHeader, .missingHeader, .duplicateHeader, .cseqMethodMismatch, .contentLengthMismatch:
            count(isReply ? .errReplies : .errRequests)
        case .empty, .tooLarge, .badStartLine, .badRequestURI, .versionNotSupported, .badStatusCode:
            break
        }
    }

    /// A stateless reply went out (sl's code counters and sent_replies).
    @inline(__always)
    public func statelessReplySent(status: Int) {
        count(SLStatistic.forCode(status))
        count(.sentReplies)
    }

    /// A transaction's final reply went upstream: tm's counter of its class.
    @inline(__always)
    public func transactionCompleted(status: Int) {
        switch status {
        case 200...299: count(.final2xx)
        case 300...399: count(.final3xx)
        case 400...499: count(.final4xx)
        case 500...599: count(.final5xx)
        case 600...699: count(.final6xx)
        default: break
        }
    }
}
