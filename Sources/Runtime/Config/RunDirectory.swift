#if canImport(Glibc)
import Glibc
#endif

/// `-Y dir` / `run_dir`: where the server's runtime files live (the ctl module's
/// sockets). The master makes it before it forks; it is then fixed for every process.
public enum RunDirectory {
    /// The default, as Debian's `/run/kamailio`.
    public static let standard = "/run/respite"

    /// Creates `path` (mode 0770, parents as needed) if it is missing. When it cannot (a
    /// server started without root), falls back to `/tmp/respite-<uid>`. Returns the
    /// directory to use and, for a fallback, the notice to print.
    public static func prepare(_ path: String, owner: RunAs?) -> (path: String, notice: String?) {
        if let problem = make(path) {
            let fallback = "/tmp/respite-\(geteuid())"
            var info = stat()
            if make(fallback) == nil, stat(fallback, &info) == 0, info.st_uid == geteuid() {
                return (fallback, "cannot use the run directory \(path) (\(problem)); using \(fallback)")
            }
            return (path, "cannot use the run directory \(path) (\(problem)) nor \(fallback)")
        }
        if let owner, geteuid() == 0 { _ = chown(path, owner.uid, owner.gid) }
        return (path, nil)
    }

    /// Makes `path` and its parents; nil when it exists as a writable directory afterwards.
    static func make(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o770) != 0 && errno != EEXIST {
                return "mkdir \(prefix): \(RunAs.lastError)"
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return "not a directory" }
        guard access(path, W_OK) == 0 else { return "not writable: \(RunAs.lastError)" }
        return nil
    }
}
