/// Hand-written messages shared by the tests and mirrored in the benchmark.
enum Sample {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let invite = bytes(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n" +
        "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnashds8;received=192.0.2.1\r\n" +
        "Max-Forwards: 70\r\n" +
        "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n" +
        "To: Bob <sip:bob@biloxi.example.com>\r\n" +
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
        "CSeq: 314159 INVITE\r\n" +
        "Contact: <sip:alice@pc33.atlanta.example.com>\r\n" +
        "Content-Type: application/sdp\r\n" +
        "Content-Length: 4\r\n\r\nv=0\n")

    static let options = bytes(
        "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\r\n" +
        "Max-Forwards: 70\r\n" +
        "To: <sip:carol@chicago.example.com>\r\n" +
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
        "Call-ID: a84b4c76e66710\r\n" +
        "CSeq: 63104 OPTIONS\r\n" +
        "Contact: <sip:alice@pc33.atlanta.example.com>\r\n" +
        "Accept: application/sdp\r\n" +
        "Content-Length: 0\r\n\r\n")

    static func response(_ status: String, toTag: String?, method: String = "INVITE", branch: String = "z9hG4bK776asdhds") -> [UInt8] {
        bytes(
            "SIP/2.0 \(status)\r\n" +
            "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=\(branch)\r\n" +
            "To: Bob <sip:bob@biloxi.example.com>\(toTag.map { ";tag=\($0)" } ?? "")\r\n" +
            "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
            "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
            "CSeq: 314159 \(method)\r\n" +
            "Content-Length: 0\r\n\r\n")
    }
}
