import CShared
#if canImport(Glibc)
import Glibc
#endif

/// The process that created an arena, as its header records it: a pid and that
/// process's start time.
///
/// A pid alone does not name a process for good: after the creator dies the kernel may
/// hand its pid to anything, including the next server. The pair (pid, start time) does,
/// since no two processes with one pid start at the same clock tick. An arena of layout 1
/// has no start time; its creator can then only be proved gone, never proved alive.
public struct ArenaCreator: Equatable, Sendable {
    public let pid: Int32
    /// Field 22 (starttime) of `/proc/<pid>/stat`: clock ticks after boot. Nil when the
    /// header has none (layout 1, or /proc was unreadable when the arena was made).
    public let startTicks: UInt64?

    public init(pid: Int32, startTicks: UInt64?) {
        self.pid = pid
        self.startTicks = startTicks
    }

    /// Whether the creator still runs.
    public enum Status: Equatable, Sendable, CustomStringConvertible {
        /// A process with the creator's pid and start time runs.
        case running
        /// A process with that pid runs, but the header records no start time to compare:
        /// it may be the creator or a stranger that got its pid. Counts as alive.
        case unverified
        /// No process has that pid, it has exited (a zombie waiting for its parent), or it
        /// started at another time (the pid was reused).
        case gone

        /// Whether the arena must be left alone.
        public var mayBeAlive: Bool { self != .gone }

        public var description: String {
            switch self {
            case .running: "running"
            case .unverified: "pid in use, start time not recorded"
            case .gone: "gone"
            }
        }
    }

    /// The calling process, as `Arena.create` records it.
    public static func current() -> ArenaCreator {
        let pid = getpid()
        return ArenaCreator(pid: pid, startTicks: ProcessStat.read(pid: pid)?.startTicks)
    }

    /// Looks the creator up in /proc (falling back to `kill(pid, 0)` where /proc says
    /// nothing). Only a proof of absence gives `.gone`.
    public var status: Status {
        guard pid > 0 else { return .gone }
        guard let stat = ProcessStat.read(pid: pid) else {
            // No /proc entry: gone, unless /proc hides it (hidepid) and kill still sees it.
            return Posix.processExists(pid) ? .unverified : .gone
        }
        if stat.hasExited { return .gone }
        guard let startTicks else { return .unverified }
        return stat.startTicks == startTicks ? .running : .gone
    }
}

/// The two fields of `/proc/<pid>/stat` that tell who a pid belongs to.
struct ProcessStat: Equatable {
    /// Field 3: R, S, D, Z (zombie), X (dead), ...
    let state: UInt8
    /// Field 22: when the process started, in clock ticks after boot.
    let startTicks: UInt64

    /// Exited: a zombie (or a process being torn down) runs nothing and holds nothing.
    var hasExited: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }

    /// Reads `/proc/<pid>/stat`; nil when there is no such entry or it does not parse.
    static func read(pid: Int32) -> ProcessStat? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Posix.close(fd) }
        // The line is at most a few hundred bytes; the command name is capped at 16.
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { raw in
            (try? Posix.retrying("read") { Glibc.read(fd, raw.baseAddress, raw.count) }) ?? 0
        }
        return n > 0 ? parse(buffer[0..<n]) : nil
    }

    /// Parses a stat line: `pid (comm) state ppid ...`. The command name may hold spaces
    /// and parentheses, so the fields are counted from its last `)`.
    static func parse<Bytes: BidirectionalCollection<UInt8>>(_ line: Bytes) -> ProcessStat? {
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = line[line.index(after: close)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, fields[0].count == 1,
              let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return ProcessStat(state: fields[0].first!, startTicks: ticks)
    }
}
