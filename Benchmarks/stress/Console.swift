import Glibc

/// Writes text straight to standard output or standard error, unbuffered, so the summary,
/// progress lines and the result line come out in order whichever stream each takes.
/// (`stdout`/`stderr` are C globals that Swift 6 rightly refuses to touch.)
enum Console {
    /// The two streams a line can go to.
    enum Stream {
        case output, error

        var fd: Int32 { self == .output ? 1 : 2 }
    }

    /// Writes `text` and a newline to `stream`, retrying short writes and `EINTR`.
    static func line(_ text: String, to stream: Stream = .output) {
        var bytes = Array(text.utf8)
        bytes.append(10)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(stream.fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
