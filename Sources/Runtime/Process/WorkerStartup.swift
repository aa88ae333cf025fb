import Shared
#if canImport(Glibc)
import Glibc
#endif

/// How the master learns that the processes it forked have started: every worker writes
/// one byte on the readiness pipe once its set-up is done, just before its loop; the
/// master counts them (`Master.awaitWorkersStarted`) before it calls the start a success.
///
/// The master makes the pipe before its first fork and keeps the write end for its whole
/// life (a worker restarted later writes into a pipe nobody reads, without blocking), so
/// a descriptor number here never names another file in any process.
struct WorkerStartup {
    /// The master's end; -1 before `open()` and after the start.
    var readFD: Int32 = -1
    /// The workers' end (nonblocking).
    var writeFD: Int32 = -1
    /// The daemon's status pipe (`Daemon.detach`), when the master was daemonized: a
    /// worker closes its copy, so that only the master can end the waiting parent.
    var status: StartupStatus?

    /// How long the master waits for every worker.
    static let timeoutSeconds = 30

    /// Makes the readiness pipe. Returns an error message on failure.
    mutating func open() -> String? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return "pipe: \(String(cString: strerror(errno)))" }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        return nil
    }

    /// In a worker, after its set-up: closes the status pipe and reports "started".
    func workerStarted() {
        if let status { close(status.fd) }
        guard writeFD >= 0 else { return }
        var byte: UInt8 = 1
        while Glibc.write(writeFD, &byte, 1) < 0 && errno == EINTR {}
    }
}

extension Master {
    /// Waits until every worker reported itself started. Returns false, after a critical
    /// line naming the cause, when one of them exits first or the time runs out; the
    /// caller then stops the others. On success the daemon's waiting parent is released.
    mutating func awaitWorkersStarted(_ context: WorkerContext) -> Bool {
        let startup = context.startup
        defer {
            close(startup.readFD)
            self.log.startupEcho = -1
        }
        var started = 0
        let deadline = MonotonicClock.nowNs + UInt64(WorkerStartup.timeoutSeconds) * 1_000_000_000
        var buffer = [UInt8](repeating: 0, count: 256)
        while started < workers.count {
            var pfd = pollfd(fd: startup.readFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready > 0 {
                let n = buffer.withUnsafeMutableBytes { read(startup.readFD, $0.baseAddress, $0.count) }
                if n > 0 { started += n }
                continue
            }
            if ready < 0 && errno != EINTR {
                log.critical("core", "cannot wait for the worker processes: poll: \(String(cString: strerror(errno)))")
                return false
            }
            for i in workers.indices where workers[i].pid > 0 {
                var status: Int32 = 0
                if waitpid(workers[i].pid, &status, WNOHANG) == workers[i].pid {
                    log.critical("core", "\(workers[i].description) (pid \(workers[i].pid)) \(Fork.Exit(status: status)) while the server was starting; stopping")
                    context.sections.processes.setState(slot: workers[i].slot, .exited)
                    workers[i].pid = 0
                    return false
                }
            }
            if MonotonicClock.nowNs > deadline {
                log.critical("core", "only \(started) of \(workers.count) worker processes started within \(WorkerStartup.timeoutSeconds) s; stopping")
                return false
            }
        }
        log.notice("core", "all \(workers.count) worker processes started")
        startup.status?.reportReady()
        return true
    }
}
