#if canImport(Glibc)
import Glibc
#endif

/// The master takes its signals synchronously (sigtimedwait), so no handler ever runs
/// Swift code asynchronously; children get the default actions back.
enum Signals {
    static var masterSet: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&set, s) }
        return set
    }

    static func blockInMaster() {
        var set = masterSet
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    static func resetInChild() {
        var set = masterSet
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
    }

    /// Waits up to `timeoutMilliseconds` for one of the master's signals.
    static func wait(timeoutMilliseconds: Int) -> Int32? {
        var set = masterSet
        var timeout = timespec(tv_sec: timeoutMilliseconds / 1000, tv_nsec: (timeoutMilliseconds % 1000) * 1_000_000)
        let s = sigtimedwait(&set, nil, &timeout)
        return s > 0 ? s : nil
    }
}

/// `-P file`: the master's pid, for init scripts.
enum PidFile {
    /// Writes the pid; returns an error message on failure.
    static func write(_ path: String) -> String? {
        guard let f = fopen(path, "w") else { return String(cString: strerror(errno)) }
        fputs("\(getpid())\n", f)
        return fclose(f) == 0 ? nil : String(cString: strerror(errno))
    }

    static func remove(_ path: String) { unlink(path) }
}
