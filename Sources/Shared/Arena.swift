import CShared
#if canImport(Glibc)
import Glibc
#endif

/// The shared arena, owned by the process that created or opened it.
///
/// Created by the master before it forks, so every child sees it at the same address
/// and can use plain pointers into it; opened read-only by `respite-shm`, which follows
/// only the header's offsets. The owner unmaps in `deinit`; the creator unlinks the
/// name with `unlink()` at orderly shutdown. A creator that died without doing so leaves
/// the name behind, marked with its pid and start time: `reclaim(name:)` takes it back.
public struct Arena: ~Copyable {
    /// The shm object name, with its leading slash.
    public let name: String
    public let size: Int
    public let writable: Bool
    public let base: UnsafeMutableRawPointer

    /// Creates and formats a new arena. `size` is rounded up to a page. The header names
    /// the calling process as the creator (pid and start time), so that a later server
    /// can tell whether it is gone (`reclaim(name:)`).
    public static func create(name: String, size: Int, debug: Bool = false, mode: mode_t = 0o600) throws(ArenaError) -> Arena {
        let name = Arena.normalized(name)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (size + page - 1) / page * page
        do {
            let fd = try Posix.shmOpen(name, flags: O_RDWR | O_CREAT | O_EXCL, mode: mode)
            defer { Posix.close(fd) }
            do {
                try Posix.ftruncate(fd, size)
                try Posix.fallocate(fd, size)
                let base = try Posix.mmap(fd, size: size, writable: true)
                let creator = ArenaCreator.current()
                let rc = cs_arena_format(base, UInt64(size), debug ? UInt32(CS_ARENA_DEBUG) : 0, creator.pid,
                                         creator.startTicks ?? 0, name)
                if rc != 0 {
                    Posix.munmap(base, size)
                    throw ArenaError.invalidLayout("\(size) bytes is too small for an arena")
                }
                return Arena(name: name, size: size, writable: true, base: base)
            } catch {
                try? Posix.shmUnlink(name)
                throw error
            }
        } catch let e as SystemCallError {
            throw .system(e)
        } catch let e as ArenaError {
            throw e
        } catch {
            throw .invalidLayout("\(error)")
        }
    }

    /// Opens an existing arena and validates its header.
    public static func open(name: String, writable: Bool = false) throws(ArenaError) -> Arena {
        let name = Arena.normalized(name)
        let fd: Int32
        do {
            fd = try Posix.shmOpen(name, flags: writable ? O_RDWR : O_RDONLY, mode: 0)
        } catch {
            if error.errno == ENOENT { throw .notFound(name: name) }
            throw .system(error)
        }
        defer { Posix.close(fd) }
        do {
            let size = try Posix.fileSize(fd)
            if size < MemoryLayout<cs_arena_header>.size {
                throw ArenaError.corrupt(name: name, reason: "object is \(size) bytes, smaller than an arena header")
            }
            let base = try Posix.mmap(fd, size: size, writable: writable)
            var why = [CChar](repeating: 0, count: 256)
            if cs_arena_validate(base, UInt64(size), &why, why.count) != 0 {
                Posix.munmap(base, size)
                throw ArenaError.corrupt(name: name, reason: cString(why))
            }
            return Arena(name: name, size: size, writable: writable, base: base)
        } catch let e as SystemCallError {
            throw .system(e)
        } catch let e as ArenaError {
            throw e
        } catch {
            throw .invalidLayout("\(error)")
        }
    }

    /// The default name of a server's arena: `/respite-<pid>`.
    public static func defaultName(pid: Int32) -> String { "/respite-\(pid)" }

    static func normalized(_ name: String) -> String { name.hasPrefix("/") ? name : "/" + name }

    private init(name: String, size: Int, writable: Bool, base: UnsafeMutableRawPointer) {
        self.name = name
        self.size = size
        self.writable = writable
        self.base = base
    }

    deinit {
        Posix.munmap(base, size)
    }

    /// A copyable view for code that runs while this owner (or the master that forked
    /// the process) keeps the mapping alive.
    public var ref: ArenaRef { ArenaRef(base.assumingMemoryBound(to: cs_arena_header.self)) }

    /// Removes the name; processes that have it mapped keep using it.
    public func unlink() throws(ArenaError) {
        do { try Posix.shmUnlink(name) } catch { throw .system(error) }
    }
}
