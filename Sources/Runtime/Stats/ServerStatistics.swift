import SIP
import Shared

/// The statistics a server keeps in section "stats", named as Kamailio 5.6 names them
/// (`kamcmd stats.get_statistics all`), so that dashboards built for one read the other.
/// The master lays them out in `definitions`' order before fork; each process finds
/// their indexes once (`ProcessStatistics`). docs/statistics.md says what each counts.
public enum ServerStatistics {
    /// Every statistic, in section order.
    public static let definitions: [StatisticDefinition] = {
        var d = CoreStatistic.allCases.map { StatisticDefinition("core", $0.name) }
        d += requestMethods.map { StatisticDefinition("core", "rcv_requests_\($0)") }
        d += replyClasses.map { StatisticDefinition("core", "rcv_replies_\($0)") }
        d += replyCodes.map { StatisticDefinition("core", "rcv_replies_\($0)") }
        for c in replyClasses {
            d += replyMethods.map { StatisticDefinition("core", "rcv_replies_\(c)_\($0)") }
        }
        d += TMStatistic.allCases.map { StatisticDefinition("tm", $0.name, kind: $0.isGauge ? .gauge : .counter) }
        d += SLStatistic.allCases.map { StatisticDefinition("sl", $0.name) }
        return d
    }()

    /// core:rcv_requests_<method>, in the order of `requestMethodIndex` (Kamailio 5.6.3
    /// has no counter for KDMQ: it counts in rcv_requests alone, and is not unsupported).
    static let requestMethods = ["invite", "cancel", "ack", "bye", "info", "register", "subscribe", "notify",
                                 "message", "options", "prack", "update", "refer", "publish"]
    /// core:rcv_replies_<class>.
    static let replyClasses = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"]
    /// core:rcv_replies_<code>: the codes Kamailio counts on their own ("18x": 180-189).
    static let replyCodes = ["18x", "401", "404", "407", "480", "486"]
    /// core:rcv_replies_<class>_<method>: replies by their CSeq method ("reg": REGISTER).
    static let replyMethods = ["bye", "cancel", "invite", "message", "prack", "refer", "reg", "update"]

    /// What a request's method counts in: its position in `requestMethods`, `.known` for
    /// a method Kamailio knows without a counter (KDMQ), `.unsupported` for the rest. Only
    /// a method outside the enum costs a string compare.
    enum RequestMethodCounter {
        case at(Int)
        case known
        case unsupported
    }

    @inline(__always)
    static func requestMethodCounter(_ method: SIPMethod) -> RequestMethodCounter {
        switch method {
        case .other(let name): name == "KDMQ" ? .known : .unsupported
        default: requestMethodIndex(method).map { .at($0) } ?? .unsupported
        }
    }

    @inline(__always)
    static func requestMethodIndex(_ method: SIPMethod) -> Int? {
        switch method {
        case .invite: 0
        case .cancel: 1
        case .ack: 2
        case .bye: 3
        case .info: 4
        case .register: 5
        case .subscribe: 6
        case .notify: 7
        case .message: 8
        case .options: 9
        case .prack: 10
        case .update: 11
        case .refer: 12
        case .publish: 13
        case .other: nil
        }
    }

    /// The position of a reply's CSeq method in `replyMethods`, nil for the others.
    @inline(__always)
    static func replyMethodIndex(_ method: SIPMethod) -> Int? {
        switch method {
        case .bye: 0
        case .cancel: 1
        case .invite: 2
        case .message: 3
        case .prack: 4
        case .refer: 5
        case .register: 6
        case .update: 7
        default: nil
        }
    }

    /// The position of a status code in `replyCodes`, nil for the others.
    @inline(__always)
    static func replyCodeIndex(_ code: Int) -> Int? {
        switch code {
        case 180...189: 0
        case 401: 1
        case 404: 2
        case 407: 3
        case 480: 4
        case 486: 5
        default: nil
        }
    }
}

/// The core's single statistics (group "core").
public enum CoreStatistic: Int, CaseIterable, Sendable {
    /// Requests received (parsed).
    case rcvRequests
    /// Replies received (parsed).
    case rcvReplies
    /// Requests relayed statelessly (`forward`).
    case fwdRequests
    /// Replies relayed statelessly along their Via.
    case fwdReplies
    /// Requests a pre-script filter drops: Kamailio counts them, Respite has no such
    /// filter (a `drop` in request_route is not counted, in Kamailio either): stays 0.
    case dropRequests
    /// Replies dropped by `drop` in reply_route.
    case dropReplies
    /// Requests missing or breaking an essential header (From, To, Call-ID, CSeq), and
    /// stateless relays that could not go out.
    case errRequests
    /// Replies missing or breaking an essential header, and stateless reply relays that
    /// could not go out.
    case errReplies
    /// Messages with a broken Via or header line.
    case badMsgHdr
    /// Requests with a method Kamailio does not know.
    case unsupportedMethods

    public var name: String {
        switch self {
        case .rcvRequests: "rcv_requests"
        case .rcvReplies: "rcv_replies"
        case .fwdRequests: "fwd_requests"
        case .fwdReplies: "fwd_replies"
        case .dropRequests: "drop_requests"
        case .dropReplies: "drop_replies"
        case .errRequests: "err_requests"
        case .errReplies: "err_replies"
        case .badMsgHdr: "bad_msg_hdr"
        case .unsupportedMethods: "unsupported_methods"
        }
    }
}

/// tm's statistics (group "tm"; Kamailio's `tm.stats`).
public enum TMStatistic: Int, CaseIterable, Sendable {
    /// Server transactions created (Respite has no local, UAC-only transactions).
    case total
    /// Transactions for requests the server itself originates (none in Respite: stays 0).
    case totalLocal
    /// Replies received on a branch of a transaction.
    case rplReceived
    /// Replies a transaction generated locally (t_reply, send_reply, tm's own 100, 408, 487).
    case rplGenerated
    /// Replies sent upstream (generated or relayed; retransmissions not counted).
    case rplSent
    /// Transactions completed upstream with a final reply of each class.
    case final2xx, final3xx, final4xx, final5xx, final6xx
    /// Transactions created and ended (unlinked; their memory goes with the last reference).
    case created, freed
    /// Gauges, read from the transaction table (`StatisticGauges`).
    case current, waiting

    public var name: String {
        switch self {
        case .total: "total"
        case .totalLocal: "total_local"
        case .rplReceived: "rpl_received"
        case .rplGenerated: "rpl_generated"
        case .rplSent: "rpl_sent"
        case .final2xx: "2xx"
        case .final3xx: "3xx"
        case .final4xx: "4xx"
        case .final5xx: "5xx"
        case .final6xx: "6xx"
        case .created: "created"
        case .freed: "freed"
        case .current: "current"
        case .waiting: "waiting"
        }
    }

    var isGauge: Bool { self == .current || self == .waiting }
}

/// sl's statistics (group "sl"): stateless replies sent, by code. As in Kamailio, a
/// class counter (`2xx_replies`) counts the codes of that class without a counter of
/// their own.
public enum SLStatistic: Int, CaseIterable, Sendable {
    case r1xx, r200, r202, r2xx, r300, r301, r302, r3xx
    case r400, r401, r403, r404, r407, r408, r483, r4xx, r500, r5xx, r6xx, rxxx
    /// Every stateless reply sent.
    case sentReplies
    /// Replies sent by `sl_reply_error`.
    case sentErrReplies
    /// Stateless replies that could not be sent.
    case failures

    public var name: String {
        switch self {
        case .sentReplies: "sent_replies"
        case .sentErrReplies: "sent_err_replies"
        case .failures: "failures"
        default: "\(String(describing: self).dropFirst())_replies"
        }
    }

    /// The counter of a reply code sent.
    static func forCode(_ code: Int) -> SLStatistic {
        switch code {
        case 100...199: .r1xx
        case 200: .r200
        case 202: .r202
        case 200...299: .r2xx
        case 300: .r300
        case 301: .r301
        case 302: .r302
        case 300...399: .r3xx
        case 400: .r400
        case 401: .r401
        case 403: .r403
        case 404: .r404
        case 407: .r407
        case 408: .r408
        case 483: .r483
        case 400...499: .r4xx
        case 500: .r500
        case 500...599: .r5xx
        case 600...699: .r6xx
        default: .rxxx
        }
    }
}
