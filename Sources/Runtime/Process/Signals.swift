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

/// Detaching from the terminal when `-D` is not given, as Kamailio does by default.
enum Daemon {
    static func detach(keepStandardError: Bool) {
        fflush(nil)
        let pid = fork()
        if pid < 0 { return } // stay in the foreground rather than fail
        if pid > 0 { _exit(0) }
        setsid()
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            if !keepStandardError { dup2(null, 2) }
            if null > 2 { close(null) }
        }
    }
}

/// `-P file`: the master's pid, for init scripts.
enum PidFile {
    static func write(_ path: String) {
        guard let f = fopen(path, "w") else { return }
        fputs("\(getpid())\n", f)
        fclose(f)
    }

    static func remove(_ path: String) { unlink(path) }
}
