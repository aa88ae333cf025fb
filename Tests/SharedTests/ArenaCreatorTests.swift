import CShared
import Foundation
import TestSupport
import Testing
@testable import Shared

/// Who made an arena, and whether that process still runs: pid and start time together,
/// never the pid alone.
@Suite struct ArenaCreatorTests {
    @Test func parsesStatLinesWhoseCommandNameHoldsSpacesAndParentheses() throws {
        let fields = (4...52).map(String.init).joined(separator: " ")
        // Fields 4... are 4, 5, ...: field 22 (starttime) is "22".
        let stat = try #require(ProcessStat.parse(Array("1234 (a) b (c)) S \(fields)\n".utf8)))
        #expect(stat == ProcessStat(state: UInt8(ascii: "S"), startTicks: 22))
        #expect(ProcessStat.parse(Array("1234 (short) S 1 2 3\n".utf8)) == nil)
        #expect(ProcessStat.parse(Array("garbage".utf8)) == nil)
    }

    @Test func anArenaRecordsItsCreatorsPidAndStartTime() throws {
        let me = ArenaCreator.current()
        let ticks = try #require(me.startTicks, "/proc/self/stat gives a start time")
        #expect(ticks > 0 && me.pid == getpid())
        #expect(me.status == .running)
        let arena = try Arena.create(name: testArenaName("creator"), size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(arena.ref.creator == me)
        #expect(Arena.creatorIfArena(arena.name) == me)
    }

    @Test func aLivePidWithAnotherStartTimeIsNotTheCreator() throws {
        let me = ArenaCreator.current()
        let ticks = try #require(me.startTicks)
        let reused = ArenaCreator(pid: getpid(), startTicks: ticks + 1)
        #expect(reused.status == .gone, "the pid runs, but it is another process than the one that made the arena")

        let name = testArenaName("reused")
        let arena = try Arena.create(name: name, size: 1 << 20)
        defer { try? arena.unlink() }
        arena.ref.header.pointee.creator_start_ticks = ticks + 1
        #expect(Arena.reclaim(name: name) == .removed(reused))
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + name))
        #expect(Arena.reclaim(name: name) == .absent)
    }

    @Test func anArenaWhoseCreatorRunsIsNeverTouched() throws {
        let name = testArenaName("running")
        let arena = try Arena.create(name: name, size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(Arena.reclaim(name: name) == .inUse(ArenaCreator.current(), .running))
        #expect(Arena.removeStale(prefix: String(name.dropFirst())).isEmpty)
        #expect(FileManager.default.fileExists(atPath: "/dev/shm" + name))
    }

    @Test func anOlderLayoutWithoutAStartTimeTrustsOnlyAProofOfDeath() throws {
        let name = testArenaName("layout1")
        let arena = try Arena.create(name: name, size: 1 << 20)
        defer { try? arena.unlink() }
        // What layout 1 left: the same identity prefix, no start time after the name.
        arena.ref.header.pointee.layout_version = 1
        arena.ref.header.pointee.creator_start_ticks = 0
        let live = ArenaCreator(pid: getpid(), startTicks: nil)
        #expect(Arena.reclaim(name: name) == .inUse(live, .unverified), "the pid runs: maybe the creator")
        #expect(FileManager.default.fileExists(atPath: "/dev/shm" + name))

        var dead: Int32 = 4_000_000
        while Posix.processExists(dead) { dead -= 1 }
        arena.ref.header.pointee.creator_pid = dead
        #expect(Arena.reclaim(name: name) == .removed(ArenaCreator(pid: dead, startTicks: nil)))
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + name))
    }

    @Test func aZombieCreatorIsGone() throws {
        let child = try Spawn.start("/bin/true", [], stdoutPath: "/dev/null", stderrPath: "/dev/null")
        #expect(waitUntil(timeout: 5) { !child.isRunning })
        // Exited but not reaped yet: the pid and its /proc entry are still there.
        let stat = try #require(ProcessStat.read(pid: child.pid))
        #expect(stat.hasExited)
        #expect(Posix.processExists(child.pid), "kill(pid, 0) alone would call it alive")
        #expect(ArenaCreator(pid: child.pid, startTicks: stat.startTicks).status == .gone)
        #expect(ArenaCreator(pid: child.pid, startTicks: nil).status == .gone)
        child.waitUntilExit()
    }

    @Test func aNameThatIsNotAnArenaIsLeftAlone() throws {
        let name = testArenaName("foreign-reclaim")
        let path = "/dev/shm" + name
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Arena.reclaim(name: name) == .notAnArena)
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
