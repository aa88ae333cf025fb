import CShared
#if canImport(Glibc)
import Glibc
#endif

extension Arena {
    /// What `reclaim(name:)` found under a name, and what it did.
    public enum Reclaim: Equatable, Sendable {
        /// No object has that name.
        case absent
        /// A Respite arena whose creator is gone: its name was removed.
        case removed(ArenaCreator)
        /// A Respite arena whose creator runs, or may run: left alone.
        case inUse(ArenaCreator, ArenaCreator.Status)
        /// An object without a complete Respite header: not an arena, or one that a live
        /// creator is still formatting (the magic is written last). Left alone.
        case notAnArena
        /// The object could not be examined or removed.
        case failed(SystemCallError)
    }

    /// Removes the name `name` if it is a Respite arena whose creator is gone (see
    /// `ArenaCreator.status`); never touches anything else.
    ///
    /// Two servers may reclaim one name at once: each takes an exclusive `flock` on the
    /// object it found, then checks that the name still refers to that object before it
    /// reads the header and unlinks. The loser finds the name gone or pointing to the
    /// winner's new arena, and looks again. Processes that have the old arena mapped
    /// keep their mapping; only the name goes.
    public static func reclaim(name: String, directory: String = "/dev/shm") -> Reclaim {
        let name = Arena.normalized(name)
        for _ in 0..<3 {
            let fd: Int32
            do {
                fd = try Posix.shmOpen(name, flags: O_RDONLY | O_CLOEXEC, mode: 0)
            } catch {
                return error.errno == ENOENT ? .absent : .failed(error)
            }
            defer { Posix.close(fd) }
            do {
                _ = try Posix.retrying("flock(\(name))") { flock(fd, LOCK_EX) }
                guard try isNamed(fd, path: directory + name) else { continue }
                guard let creator = creator(readingHeaderOf: fd) else { return .notAnArena }
                let status = creator.status
                if status.mayBeAlive { return .inUse(creator, status) }
                try Posix.shmUnlink(name)
                return .removed(creator)
            } catch {
                return .failed(error)
            }
        }
        // The name changed hands three times while we looked: someone else is at work.
        return .failed(SystemCallError("reclaim(\(name))", errno: EAGAIN))
    }

    /// Removes arenas left in /dev/shm by servers that died without cleaning up: objects
    /// named `<prefix>*` that carry a Respite header whose creator is gone. Objects that
    /// are not Respite arenas, or whose creator still runs, are left alone.
    /// Returns the names removed.
    /// `matching` narrows the names further (a server only sweeps default names).
    @discardableResult
    public static func removeStale(prefix: String = "respite-", directory: String = "/dev/shm",
                                   matching: (String) -> Bool = { _ in true }) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var removed: [String] = []
        while let entry = readdir(dir) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard file.hasPrefix(prefix), matching(file) else { continue }
            if case .removed = reclaim(name: "/" + file, directory: directory) { removed.append("/" + file) }
        }
        return removed
    }

    /// The creator recorded in a Respite arena's header, or nil if `name` is not one.
    static func creatorIfArena(_ name: String) -> ArenaCreator? {
        guard let fd = try? Posix.shmOpen(Arena.normalized(name), flags: O_RDONLY | O_CLOEXEC, mode: 0) else {
            return nil
        }
        defer { Posix.close(fd) }
        return creator(readingHeaderOf: fd)
    }

    /// Reads the creator from the header at the start of `fd`. The identity prefix has the
    /// same offsets in every layout; the start time exists from layout 2 on.
    static func creator(readingHeaderOf fd: Int32) -> ArenaCreator? {
        var header = cs_arena_header()
        let wanted = MemoryLayout<cs_arena_header>.size
        let n = withUnsafeMutableBytes(of: &header) { raw in
            (try? Posix.retrying("pread") { pread(fd, raw.baseAddress, wanted, 0) }) ?? 0
        }
        let prefix = MemoryLayout<cs_arena_header>.offset(of: \.creator_pid)! + MemoryLayout<Int32>.size
        guard n >= prefix, header.magic == CS_ARENA_MAGIC else { return nil }
        let hasStartTime = header.layout_version >= 2 && n == wanted && header.creator_start_ticks != 0
        return ArenaCreator(pid: header.creator_pid, startTicks: hasStartTime ? header.creator_start_ticks : nil)
    }

    /// Whether `path` (the object's file under /dev/shm) is the object open as `fd`.
    private static func isNamed(_ fd: Int32, path: String) throws(SystemCallError) -> Bool {
        var open = stat(), named = stat()
        _ = try Posix.retrying("fstat") { fstat(fd, &open) }
        if stat(path, &named) != 0 {
            if errno == ENOENT { return false }
            throw SystemCallError("stat(\(path))", errno: errno)
        }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }
}
