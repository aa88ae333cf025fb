import CShared
import Foundation
import Testing
@testable import Shared

/// A unique shm name for one test.
func testArenaName(_ tag: String) -> String { "/respite-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))" }

@Suite struct ArenaTests {
    @Test func createsValidatesAndUnlinks() throws {
        let name = testArenaName("create")
        let arena = try Arena.create(name: name, size: 4 << 20)
        defer { try? arena.unlink() }
        let ref = arena.ref
        #expect(ref.creatorPID == getpid())
        #expect(ref.size == 4 << 20)
        #expect(ref.section("allocator") != nil)
        let reopened = try Arena.open(name: name)
        let (reopenedSize, size, writable) = (reopened.size, arena.size, reopened.writable)
        #expect(reopenedSize == size)
        #expect(!writable)
        #expect(FileManager.default.fileExists(atPath: "/dev/shm" + name))
        let attrs = try FileManager.default.attributesOfItem(atPath: "/dev/shm" + name)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func createRefusesAnExistingName() throws {
        let name = testArenaName("dup")
        let arena = try Arena.create(name: name, size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(createError(name) != nil)
    }

    @Test func openReportsMissingAndForeignObjects() throws {
        let absent = "/respite-test-none-\(getpid())"
        #expect(openError(absent) == .notFound(name: absent))
        let name = testArenaName("foreign")
        let path = "/dev/shm" + name
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard case .corrupt(_, let reason)? = openError(name) else {
            Issue.record("a foreign object opened as an arena")
            return
        }
        #expect(reason.contains("magic"))
    }

    @Test func sectionsAreFoundByName() throws {
        let arena = try Arena.create(name: testArenaName("sections"), size: 8 << 20)
        defer { try? arena.unlink() }
        let sections = try arena.ref.install(ArenaLayout(processCapacity: 8,
                                                         queues: [.init(name: "default"), .init(name: "abc", nonblocking: true)]))
        #expect(sections.queues.map(\.name) == ["default", "abc"])
        #expect(sections.queue(named: "abc")?.nonblocking == true)
        #expect(sections.queue(named: "nope") == nil)
        #expect(sections.processes.capacity == 8)
        #expect(arena.ref.section("alloccache") != nil, "one allocator cache per process slot")
        #expect(throws: ArenaError.self) { _ = try arena.ref.addSection("proctable", size: 16, kind: CS_SECTION_RAW) }
    }

    @Test func staleArenasOfDeadCreatorsAreRemoved() throws {
        let deadName = testArenaName("stale")
        let liveName = testArenaName("live")
        do {
            let dead = try Arena.create(name: deadName, size: 1 << 20)
            // Pretend a server that no longer exists created it.
            var pid: Int32 = 4_000_000
            while Posix.processExists(pid) { pid -= 1 }
            dead.ref.header.pointee.creator_pid = pid
        }
        let live = try Arena.create(name: liveName, size: 1 << 20)
        defer { try? live.unlink() }
        let removed = Arena.removeStale(prefix: "respite-test-\(getpid())-")
        #expect(removed.contains(deadName))
        #expect(!removed.contains(liveName))
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + deadName))
    }

    @Test func aLivePidWithAnotherStartTimeIsSweptAsGone() throws {
        let name = testArenaName("reused-pid")
        let arena = try Arena.create(name: name, size: 1 << 20)
        defer { try? arena.unlink() }
        // The header names this process, which runs, but with a start time it does not
        // have: another process that once had this pid made the arena.
        let ticks = try #require(Self.startTicks(of: getpid()))
        arena.base.storeBytes(of: ticks + 1, toByteOffset: Self.creatorStartTicksOffset, as: UInt64.self)
        #expect(arena.ref.creatorPID == getpid() && Posix.processExists(getpid()))
        #expect(Arena.removeStale(prefix: String(name.dropFirst())) == [name])
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm" + name))
    }

    /// cs_arena_header.creator_start_ticks (cs_arena.h asserts the offset).
    static let creatorStartTicksOffset = 128

    /// Field 22 of /proc/<pid>/stat, read here independently of the code under test.
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    @Test func processTableRecordsEntries() throws {
        let arena = try Arena.create(name: testArenaName("procs"), size: 4 << 20)
        defer { try? arena.unlink() }
        let table = try arena.ref.install(ArenaLayout(processCapacity: 2)).processes
        let slot = try #require(table.claim(role: .udpReceiver, rank: 0, description: "udp receiver child=0 sock=127.0.0.1:5060"))
        table.started(slot: slot, pid: 1234)
        table.add(slot: slot, .requests, 5)
        #expect(table.counter(slot: slot, .requests) == 5)
        #expect(table.entry(Int(slot)).pid == 1234)
        _ = table.claim(role: .tmTimer, rank: 0, description: "timer")
        #expect(table.claim(role: .tmTimer, rank: 1, description: "one too many") == nil)
    }
}

/// The error opening `name` gives, or nil when it opens.
func openError(_ name: String) -> ArenaError? {
    do {
        let arena = try Arena.open(name: name)
        _ = arena.size
        return nil
    } catch {
        return error
    }
}

/// The error creating `name` gives, or nil when it is created (and then removed).
func createError(_ name: String) -> ArenaError? {
    do {
        let arena = try Arena.create(name: name, size: 1 << 20)
        try? arena.unlink()
        return nil
    } catch {
        return error
    }
}
