import Glibc

/// A failed system call: which call and the errno it left.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let errno: Int32

    var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// A non-blocking IPv4 UDP socket owned by the load generator; closed when dropped.
///
/// It stays unconnected: requests go out with `sendto` and replies are taken from whoever
/// sends them, so a server answering from another socket of its own is still heard. Every
/// wrapper retries `EINTR` and returns `EAGAIN` as a value; other errors throw with the
/// call's name.
struct UDPSocket: ~Copyable {
    let fd: Int32
    /// The address the kernel bound (the real port when asked for port 0).
    let local: IPv4Endpoint
    /// The receive and send buffer sizes the kernel granted, in bytes.
    let receiveBufferBytes: Int
    let sendBufferBytes: Int

    /// What became of one datagram handed to `send`.
    enum SendOutcome {
        case sent
        /// The socket's send buffer (or the interface queue) was full: nothing went out.
        case wouldBlock
    }

    /// Opens a socket bound to `endpoint`, with both buffers asked to be `bufferBytes`.
    init(binding endpoint: IPv4Endpoint, bufferBytes: Int) throws(SystemCallError) {
        // Every field at once, after every step that can fail: a noncopyable value cannot
        // be left half-initialised on an error path.
        let opened = try UDPSocket.open(endpoint, bufferBytes: bufferBytes)
        fd = opened.fd
        local = opened.local
        receiveBufferBytes = opened.receive
        sendBufferBytes = opened.send
    }

    /// Creates, sizes and binds the descriptor; closes it again on any failure.
    private static func open(_ endpoint: IPv4Endpoint, bufferBytes: Int) throws(SystemCallError)
        -> (fd: Int32, local: IPv4Endpoint, receive: Int, send: Int)
    {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", errno: Glibc.errno) }
        guard fd < FD_SETSIZE else {
            close(fd)
            throw SystemCallError(call: "socket (descriptor above FD_SETSIZE)", errno: EMFILE)
        }
        func fail(_ call: String) -> SystemCallError {
            let e = SystemCallError(call: call, errno: Glibc.errno)
            close(fd)
            return e
        }
        var size = Int32(clamping: bufferBytes)
        let sizeLength = socklen_t(MemoryLayout<Int32>.size)
        // The kernel caps these at net.core.{r,w}mem_max without failing; the granted
        // sizes are read back below and shown in the summary.
        guard setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength) == 0 else { throw fail("setsockopt(SO_RCVBUF)") }
        guard setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeLength) == 0 else { throw fail("setsockopt(SO_SNDBUF)") }
        var address = endpoint.sockaddr
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw fail("bind(\(endpoint))") }
        var actual = sockaddr_in()
        var actualLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard named == 0 else { throw fail("getsockname") }
        var granted: Int32 = 0
        var grantedLength = sizeLength
        guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLength) == 0 else { throw fail("getsockopt(SO_RCVBUF)") }
        let receive = Int(granted)
        guard getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted, &grantedLength) == 0 else { throw fail("getsockopt(SO_SNDBUF)") }
        return (fd, IPv4Endpoint(actual), receive, Int(granted))
    }

    deinit { close(fd) }

    /// Sends one datagram to `destination`.
    func send(_ bytes: [UInt8], to destination: IPv4Endpoint) throws(SystemCallError) -> SendOutcome {
        var address = destination.sockaddr
        while true {
            let n = bytes.withUnsafeBytes { buffer in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            if n >= 0 { return .sent }
            switch Glibc.errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ENOBUFS: return .wouldBlock
            // An ICMP error from an earlier datagram (nothing listening): this one is
            // still worth sending, and the missing replies show up as lost.
            case ECONNREFUSED: continue
            default: throw SystemCallError(call: "sendto(\(destination))", errno: Glibc.errno)
            }
        }
    }

    /// Receives one datagram into `buffer` (which keeps its size); its length, or nil when
    /// nothing is waiting.
    func receive(into buffer: inout [UInt8]) throws(SystemCallError) -> Int? {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return n }
            switch Glibc.errno {
            case EINTR, ECONNREFUSED: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SystemCallError(call: "recv", errno: Glibc.errno)
            }
        }
    }

    /// Waits until a datagram can be read or the monotonic clock reaches `deadline`
    /// (nanoseconds; nil waits without limit). True when readable.
    ///
    /// `pselect` because it takes a nanosecond timeout: `poll`'s milliseconds are too
    /// coarse to pace thousands of requests a second, and `ppoll` is not visible to Swift
    /// without `_GNU_SOURCE`.
    func waitReadable(until deadline: UInt64?) throws(SystemCallError) -> Bool {
        while true {
            var set = fd_set()
            withUnsafeMutableBytes(of: &set) { bits in
                bits[Int(fd) / 8] |= UInt8(1) << UInt8(fd % 8)
            }
            var timeout = timespec()
            var result: Int32
            if let deadline {
                let now = MonotonicClock.now()
                let wait = deadline > now ? deadline - now : 0
                timeout.tv_sec = Int(wait / 1_000_000_000)
                timeout.tv_nsec = Int(wait % 1_000_000_000)
                result = pselect(fd + 1, &set, nil, nil, &timeout, nil)
            } else {
                result = pselect(fd + 1, &set, nil, nil, nil, nil)
            }
            if result >= 0 { return result > 0 }
            if Glibc.errno == EINTR { continue }
            throw SystemCallError(call: "pselect", errno: Glibc.errno)
        }
    }
}
