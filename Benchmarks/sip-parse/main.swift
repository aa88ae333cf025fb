// respite-bench-sip: SIP parse and build throughput on one core.
// Prints one line per case: `sip-parse case=<name> msgs_per_s=<n> ns_per_msg=<n>`.
// Options: --seconds N (per case, default 2), --quick (0.2 s per case).
import Glibc
import SIP

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

var seconds = 2.0
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--quick": seconds = 0.2
    case "--seconds": seconds = args.popFirst().flatMap(Double.init) ?? seconds
    default:
        print("usage: respite-bench-sip [--seconds N] [--quick]")
        exit(2)
    }
}

let sdp = "v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\ns=Session SDP\r\n" +
    "c=IN IP4 pc33.atlanta.example.com\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0 8 97\r\n" +
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\na=sendrecv\r\n"
let invite = Array((
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
    "Via: SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK721e418c4.1;received=192.0.2.222\r\n" +
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;rport=5060;received=192.0.2.101\r\n" +
    "Max-Forwards: 69\r\n" +
    "Record-Route: <sip:proxy2.example.com;lr>\r\n" +
    "Route: <sip:ss1.biloxi.example.com;lr>\r\n" +
    "To: Bob <sip:bob@biloxi.example.com>\r\n" +
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n" +
    "CSeq: 1 INVITE\r\n" +
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n" +
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO\r\n" +
    "Supported: replaces, timer\r\n" +
    "User-Agent: Respite-Bench/1.0\r\n" +
    "Content-Type: application/sdp\r\n" +
    "Content-Length: \(sdp.utf8.count)\r\n\r\n" + sdp).utf8)
let options = Array((
    "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n" +
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\r\n" +
    "Max-Forwards: 70\r\n" +
    "To: <sip:carol@chicago.example.com>\r\n" +
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
    "Call-ID: a84b4c76e66710\r\n" +
    "CSeq: 63104 OPTIONS\r\n" +
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n" +
    "Accept: application/sdp\r\n" +
    "Content-Length: 0\r\n\r\n").utf8)

/// Runs `body` in batches until `seconds` pass; `body` returns a value folded into a sink.
func measure(_ name: String, size: Int, seconds: Double, _ body: () -> Int) -> Int {
    var sink = 0
    for _ in 0..<1000 { sink &+= body() }
    let budget = UInt64(seconds * 1e9)
    let start = now()
    var count = 0
    var elapsed: UInt64 = 0
    repeat {
        for _ in 0..<1000 { sink &+= body() }
        count += 1000
        elapsed = now() - start
    } while elapsed < budget
    let ns = Double(elapsed) / Double(count)
    print("sip-parse case=\(name) bytes=\(size) msgs_per_s=\(Int(1e9 / ns)) ns_per_msg=\(Int(ns.rounded()))")
    return sink
}

/// What a proxy reads from every request.
func proxyView(_ bytes: [UInt8]) -> Int {
    guard let m = try? SIPMessage.parse(bytes) else { return -1 }
    var n = m.vias.count &+ Int(m.cseq.number) &+ (m.maxForwards ?? 0) &+ (m.contentLength ?? 0)
    n &+= m.from.tagRange?.count ?? 0
    n &+= m.to.tagRange?.count ?? 0
    n &+= m.callIDRange.count
    n &+= m.topVia.branchRange?.count ?? 0
    if let c = try? m.contact { n &+= c.addresses.count }
    if let r = try? m.routes { n &+= r.count }
    return n
}

func keyOnly(_ bytes: [UInt8]) -> Int {
    guard let f = TransactionKey.fast(bytes) else { return -1 }
    return Int(truncatingIfNeeded: f.key.hash)
}

var total = 0
total &+= measure("invite-full", size: invite.count, seconds: seconds) { proxyView(invite) }
total &+= measure("options-full", size: options.count, seconds: seconds) { proxyView(options) }
total &+= measure("invite-key", size: invite.count, seconds: seconds) { keyOnly(invite) }
total &+= measure("options-key", size: options.count, seconds: seconds) { keyOnly(options) }
let parsedOptions = try! SIPMessage.parse(options)
var buffer = MessageBuffer()
total &+= measure("options-reply", size: options.count, seconds: seconds) {
    ReplyBuilder.reply(to: parsedOptions, status: 200, reason: "OK", toTag: "5a6b7c8d",
                       extraHeaders: [("Server", "Respite")], into: &buffer)
    return buffer.count
}
if total == 42 { print("sink \(total)") }
