// Thin wrappers over the system calls the arena and the sockets need: they retry EINTR
// and throw an error that names the call and the errno (DatagramSocket.swift holds the
// socket calls).
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, and the errno it gave.
public struct SystemCallError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The system calls, in one place.
public enum Posix {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemCallError(call, errno: code)
        }
    }

    /// As `retrying`, for a datagram sent or received on a socket that may be
    /// non-blocking: EAGAIN/EWOULDBLOCK (nothing to do without waiting) and ENOBUFS (the
    /// interface queue is full) come back as nil. ECONNREFUSED is an earlier datagram's
    /// ICMP error, which the kernel reports (and clears) on the next call: retried, since
    /// this datagram is unrelated. A bad descriptor or buffer is a programmer error and
    /// traps. The call's name is only built when it fails.
    @inline(__always)
    static func transferring(_ call: @autoclosure () -> String, _ body: () -> Int) throws(SystemCallError) -> Int? {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            switch code {
            case EINTR, ECONNREFUSED: continue
            case EAGAIN, EWOULDBLOCK, ENOBUFS: return nil
            case EBADF, EFAULT, ENOTSOCK: preconditionFailure(SystemCallError(call(), errno: code).description)
            default: throw SystemCallError(call(), errno: code)
            }
        }
    }

    public static func shmOpen(_ name: String, flags: Int32, mode: mode_t) throws(SystemCallError) -> Int32 {
        try retrying("shm_open(\(name))") { shm_open(name, flags, mode) }
    }

    public static func shmUnlink(_ name: String) throws(SystemCallError) {
        _ = try retrying("shm_unlink(\(name))") { shm_unlink(name) }
    }

    public static func ftruncate(_ fd: Int32, _ size: Int) throws(SystemCallError) {
        _ = try retrying("ftruncate") { Glibc.ftruncate(fd, off_t(size)) }
    }

    /// Reserves the object's pages now, so a full /dev/shm fails here and not with
    /// SIGBUS on a later write.
    public static func fallocate(_ fd: Int32, _ size: Int) throws(SystemCallError) {
        while true {
            let rc = posix_fallocate(fd, 0, off_t(size))
            if rc == 0 { return }
            if rc == EINTR { continue }
            throw SystemCallError("posix_fallocate", errno: rc)
        }
    }

    public static func fileSize(_ fd: Int32) throws(SystemCallError) -> Int {
        var st = stat()
        _ = try retrying("fstat") { fstat(fd, &st) }
        return Int(st.st_size)
    }

    public static func mmap(_ fd: Int32, size: Int, writable: Bool) throws(SystemCallError) -> UnsafeMutableRawPointer {
        let protection = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        guard let p = Glibc.mmap(nil, size, protection, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw SystemCallError("mmap", errno: Glibc.errno)
        }
        return p
    }

    public static func munmap(_ p: UnsafeMutableRawPointer, _ size: Int) {
        _ = Glibc.munmap(p, size)
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Whether a process with this pid exists (EPERM counts as alive: it exists).
    public static func processExists(_ pid: Int32) -> Bool {
        if pid <= 0 { return false }
        return kill(pid, 0) == 0 || Glibc.errno == EPERM
    }
}

extension Posix {
    /// Writes a line to standard error, unbuffered (safe in forked children).
    public static func printError(_ message: String) {
        var line = message
        if !line.hasSuffix("\n") { line += "\n" }
        line.utf8CString.withUnsafeBufferPointer { buf in
            _ = Glibc.write(2, buf.baseAddress, buf.count - 1)
        }
    }
}
