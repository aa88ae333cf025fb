import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Detaching from the terminal when `-D` is not given, as Kamailio does by default, with
/// the start's outcome carried back to the process that was started.
///
/// The original process forks, the child starts a new session and forks again: that
/// grandchild is the master. The original process waits on a pipe whose only write end
/// the master holds, and exits 0 when the master reports that every worker process
/// started and the pid file is written; when the master reports an error, or dies before
/// reporting, it prints the reason on its standard error and exits 1. So an init system
/// (systemd's Type=forking) sees a failed start as a failure.
///
/// Called from the single-threaded process before the arena exists; it refuses to fork
/// if another thread exists.
enum Daemon {
    /// Forks into the background. Returns the master's end of the status pipe; never
    /// returns in the original process (it exits with the start's outcome). Returns nil
    /// and leaves the process in the foreground only when `fork`/`pipe` fail, after an
    /// error line on standard error.
    static func detach(keepStandardError: Bool) -> StartupStatus? {
        let threads = Fork.threadCount()
        if threads != 1 {
            Posix.printError("respite: cannot daemonize: the process has \(threads) threads")
            return nil
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            Posix.printError("respite: cannot daemonize: pipe: \(String(cString: strerror(errno)))")
            return nil
        }
        fflush(nil)
        let first = fork()
        if first < 0 {
            Posix.printError("respite: cannot daemonize: fork: \(String(cString: strerror(errno)))")
            close(fds[0])
            close(fds[1])
            return nil
        }
        if first > 0 {
            close(fds[1])
            // The intermediate child exits at once; reap it, then wait for the master.
            var status: Int32 = 0
            while waitpid(first, &status, 0) < 0 && errno == EINTR {}
            _exit(StartupStatus.awaitOutcome(readFD: fds[0]))
        }
        close(fds[0])
        setsid()
        let second = fork()
        if second < 0 { _exit(1) } // the parent reads EOF: "the server stopped while starting"
        if second > 0 { _exit(0) }
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            if !keepStandardError { dup2(null, 2) }
            if null > 2 { close(null) }
        }
        return StartupStatus(fd: fds[1])
    }
}

/// The master's end of the status pipe to the process that started it (`Daemon.detach`).
/// Lines on the pipe: `E <text>` is an error to print, `READY` ends the start with
/// success. Owned by the master; the workers it forks close their copy
/// (`WorkerContext.startup`). The master keeps it open for its whole life, so the number
/// never names another file in a process forked later.
public struct StartupStatus: Sendable {
    public let fd: Int32

    static let readyLine = "READY\n"

    /// The line the master writes for an error `text` (one line: newlines become spaces).
    static func errorLine(_ text: String) -> String {
        "E " + String(text.map { $0 == "\n" ? " " : $0 }) + "\n"
    }

    /// Tells the waiting process the start succeeded; it exits 0.
    func reportReady() { ServerLog.writeAll(fd, Self.readyLine) }

    /// Reports a start failure that was not logged as an error.
    func reportError(_ text: String) { ServerLog.writeAll(fd, Self.errorLine(text)) }

    /// In the original process: reads the master's lines until `READY` (returns 0) or the
    /// end of the pipe (returns 1). Error lines go to standard error as they come.
    static func awaitOutcome(readFD: Int32) -> Int32 {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var reasons = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line + "\n" == readyLine { return 0 }
                if line.hasPrefix("E ") {
                    Posix.printError("respite: " + String(line.dropFirst(2)))
                    reasons += 1
                }
            }
        }
        if reasons == 0 {
            Posix.printError("respite: the server stopped while starting; its log has the reason")
        }
        return 1
    }
}
