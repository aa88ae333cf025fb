import CShared
#if canImport(Glibc)
import Glibc
#endif

extension Arena {
    /// Removes arenas left in /dev/shm by servers that died without cleaning up: objects
    /// named `<prefix>*` that carry a Respite header whose creator is gone. Objects that
    /// are not Respite arenas, or whose creator still runs, are left alone.
    /// Returns the names removed.
    /// `matching` narrows the names further (a server only cleans up default names).
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
            let name = "/" + file
            guard let creator = creatorIfArena(name), !Posix.processExists(creator) else { continue }
            if (try? Posix.shmUnlink(name)) != nil { removed.append(name) }
        }
        return removed
    }

    /// The creator pid recorded in a Respite arena's header, or nil if `name` is not one.
    static func creatorIfArena(_ name: String) -> Int32? {
        guard let fd = try? Posix.shmOpen(name, flags: O_RDONLY, mode: 0) else { return nil }
        defer { Posix.close(fd) }
        var header = cs_arena_header()
        let n = withUnsafeMutableBytes(of: &header) { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == MemoryLayout<cs_arena_header>.size, header.magic == CS_ARENA_MAGIC else { return nil }
        return header.creator_pid
    }
}
