import Shared
#if canImport(Glibc)
import Glibc
#endif

/// `-u user` / `-g group`: whom the server runs as once its sockets are bound and its
/// arena exists. Resolved once, in the master, before it forks; a plain value.
public struct RunAs: Sendable, Equatable {
    public var uid: uid_t
    public var gid: gid_t
    /// The user's name, for initgroups; nil when only `-g` was given.
    public var userName: String?

    /// Resolves `-u` (a name or a number) and `-g` (a name or a number). `-u` without
    /// `-g` takes the user's primary group. Returns nil when neither is given.
    public static func resolve(user: String?, group: String?) -> Result<RunAs?, ServerSettings.SettingsError> {
        guard user != nil || group != nil else { return .success(nil) }
        var result = RunAs(uid: geteuid(), gid: getegid(), userName: nil)
        if let user {
            if let pw = getpwnam(user) {
                result.uid = pw.pointee.pw_uid
                result.gid = pw.pointee.pw_gid
                result.userName = String(cString: pw.pointee.pw_name)
            } else if let n = UInt32(user) {
                result.uid = n
                if let pw = getpwuid(n) {
                    result.gid = pw.pointee.pw_gid
                    result.userName = String(cString: pw.pointee.pw_name)
                }
            } else {
                return .failure(.init(message: "-u \(user): no such user"))
            }
        }
        if let group {
            if let gr = getgrnam(group) {
                result.gid = gr.pointee.gr_gid
            } else if let n = UInt32(group) {
                result.gid = n
            } else {
                return .failure(.init(message: "-g \(group): no such group"))
            }
        }
        return .success(result)
    }

    /// Whether this process may become `self`: root may become anyone, another user only
    /// itself. Returns an error message otherwise.
    public func checkPermitted() -> String? {
        if geteuid() == 0 { return nil }
        if uid == geteuid() && gid == getegid() { return nil }
        return "changing to uid \(uid) gid \(gid) (-u/-g) needs root; running as uid \(geteuid())"
    }

    /// Gives the arena's shared-memory object and the run directory to the new user, so
    /// that the server can still remove them when it stops, then drops the group list, the
    /// group and the user, in that order. Returns an error message on failure.
    func apply(arenaName: String, runDirectory: String) -> String? {
        if uid == geteuid() && gid == getegid() { return nil }
        let shmPath = "/dev/shm/" + arenaName.drop { $0 == "/" }
        if chown(shmPath, uid, gid) != 0 {
            return "cannot give the arena \(shmPath) to uid \(uid): \(Self.lastError)"
        }
        _ = chown(runDirectory, uid, gid)
        if let userName {
            if initgroups(userName, gid) != 0 { return "initgroups(\(userName)): \(Self.lastError)" }
        } else {
            var groups = [gid]
            if setgroups(1, &groups) != 0 { return "setgroups: \(Self.lastError)" }
        }
        if setgid(gid) != 0 { return "setgid(\(gid)): \(Self.lastError)" }
        if setuid(uid) != 0 { return "setuid(\(uid)): \(Self.lastError)" }
        return nil
    }

    static var lastError: String { String(cString: strerror(errno)) }
}

extension Master {
    /// `-u`/`-g`: after the sockets are bound and the arena exists, before the first fork.
    /// Returns false after a critical line when the change fails.
    func dropPrivileges(arenaName: String) -> Bool {
        guard let runAs = settings.runAs else { return true }
        if let problem = runAs.apply(arenaName: arenaName, runDirectory: settings.runDirectory) {
            log.critical("core", "cannot change the user: \(problem)")
            return false
        }
        log.info("core", "running as uid \(getuid()) gid \(getgid())")
        return true
    }
}

extension Daemon {
    /// What the master checks and makes before it detaches, so that a mistake is printed
    /// by the process that was started: the `-u`/`-g` change is permitted, the run
    /// directory exists (or its fallback, with one notice line). Returns the settings
    /// with the run directory in use, or nil after an error line on standard error.
    static func prepare(_ settings: ServerSettings) -> ServerSettings? {
        var settings = settings
        if let runAs = settings.runAs, let problem = runAs.checkPermitted() {
            Posix.printError("respite: \(problem)")
            return nil
        }
        let (path, notice) = RunDirectory.prepare(settings.runDirectory, owner: settings.runAs)
        if let notice { Posix.printError("respite: NOTICE: \(notice)") }
        settings.runDirectory = path
        return settings
    }
}
