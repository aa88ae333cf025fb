/// Why a message could not be parsed, where, and how (or whether) to answer it.
///
/// Per RFC 3261 (and unlike Kamailio, which drops them): a malformed *request* whose Via, From, To,
/// Call-ID and CSeq parse is answerable, and `partial` then holds those essentials so
/// `ReplyBuilder` can write `replyStatus`/`replyReason`; anything else (responses, requests
/// missing an essential, unrecognisable bytes) is to be dropped.
public struct SIPParseError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Equatable {
        case empty
        case tooLarge
        case lineTooLong
        case tooManyHeaders
        case badStartLine
        case badRequestURI
        case versionNotSupported
        case badStatusCode
        case badHeaderLine
        case truncatedHeaders
        case missingHeader(HeaderKind)
        case duplicateHeader(HeaderKind)
        case badHeader(HeaderKind)
        case cseqMethodMismatch
        case contentLengthMismatch
    }

    /// What was wrong.
    public let kind: Kind
    /// Byte offset into the received buffer where the fault was found.
    public let offset: Int
    /// For an answerable request: the message with its essential headers parsed.
    public let partial: SIPMessage?

    public init(kind: Kind, offset: Int, partial: SIPMessage? = nil) {
        self.kind = kind
        self.offset = offset
        self.partial = partial
    }

    /// True when a reply can and should be sent (the request's essentials parsed).
    public var answerable: Bool { partial != nil }

    /// 505 for another SIP version, 400 for everything else.
    public var replyStatus: Int { kind == .versionNotSupported ? 505 : 400 }

    /// A short reason phrase naming the fault, for the reply's status line.
    public var replyReason: String {
        switch kind {
        case .versionNotSupported: "Version Not Supported"
        case .empty: "Empty Message"
        case .tooLarge: "Message Too Large"
        case .lineTooLong: "Header Line Too Long"
        case .tooManyHeaders: "Too Many Headers"
        case .badStartLine: "Bad Request Line"
        case .badRequestURI: "Bad Request-URI"
        case .badStatusCode: "Bad Status Code"
        case .badHeaderLine: "Bad Header Line"
        case .truncatedHeaders: "Truncated Headers"
        case .missingHeader(let h): "Missing \(h.canonicalName)"
        case .duplicateHeader(let h): "Duplicate \(h.canonicalName)"
        case .badHeader(let h): "Bad \(h.canonicalName)"
        case .cseqMethodMismatch: "CSeq Method Mismatch"
        case .contentLengthMismatch: "Content-Length Mismatch"
        }
    }

    public var description: String {
        "SIPParseError(\(kind) at \(offset), \(answerable ? "answer \(replyStatus) \(replyReason)" : "drop"))"
    }
}
