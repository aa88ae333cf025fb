import Foundation
import TestSupport
import Testing

/// respite-shm against real arenas: one whose creator was killed, garbage, nothing.
@Suite(.serialized) struct ShmToolTests {
    @Test func readsTheArenaOfAKilledCreator() throws {
        let name = "/respite-test-\(getpid())-held"
        let (holder, line) = try Products.startReadingFirstLine("respite-arena-helper", ["hold", "--shm-name", name])
        defer { shm_unlink(name) }
        #expect(line.contains("ready=1"))
        kill(holder.pid, SIGKILL)
        holder.waitUntilExit()

        let text = try Products.run("respite-shm", ["--shm-name", name])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("arena \(name)"))
        #expect(text.stdout.contains("(gone)"))
        #expect(text.stdout.contains("main process - attendant"))
        #expect(text.stdout.contains("requests=42"))
        #expect(text.stdout.contains("default"))
        #expect(text.stdout.contains("depth 3/100"))
        #expect(text.stdout.contains("oldest waiting"), "the age of the head task is shown")

        let json = try Products.run("respite-shm", ["--shm-name", name, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let header = try #require(object["header"] as? [String: Any])
        #expect(header["creatorAlive"] as? Bool == false)
        let queues = try #require(object["queues"] as? [[String: Any]])
        #expect(queues.map { $0["name"] as? String } == ["default", "tkv"])
        #expect(queues[0]["depth"] as? Int == 3)
        let allocator = try #require(object["allocator"] as? [String: Any])
        #expect((allocator["liveAllocations"] as? Int ?? 0) >= 4)
        #expect(allocator["walkError"] == nil)
    }

    @Test func reportsGarbageAsCorruptWithoutCrashing() throws {
        for size in [0, 100, 4096, 1 << 20] {
            let name = "/respite-test-\(getpid())-garbage-\(size)"
            var bytes = [UInt8](repeating: 0, count: size)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            try Data(bytes).write(to: URL(fileURLWithPath: "/dev/shm" + name))
            defer { shm_unlink(name) }
            let r = try Products.run("respite-shm", ["--shm-name", name])
            #expect(r.status == 2, "size \(size): \(r.stdout)")
            #expect(r.stderr.contains("not a valid Respite arena"))
        }
    }

    @Test func damagedInteriorGivesAPartialReport() throws {
        let name = "/respite-test-\(getpid())-damaged"
        let (holder, line) = try Products.startReadingFirstLine("respite-arena-helper", ["hold", "--shm-name", name])
        #expect(line.contains("ready=1"))
        kill(holder.pid, SIGKILL)
        holder.waitUntilExit()
        defer { shm_unlink(name) }
        // Scribble over the heap after the header and directory: sections stay valid,
        // the allocator walk must notice and stop.
        let path = "/dev/shm" + name
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 12_000)
        handle.write(Data((0..<400_000).map { _ in UInt8.random(in: 0...255) }))
        try handle.close()
        let r = try Products.run("respite-shm", ["--shm-name", name])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("WALK STOPPED") || r.stdout.contains("problems"))
    }

    @Test func missingObjectIsAClearError() throws {
        let r = try Products.run("respite-shm", ["--shm-name", "/respite-test-\(getpid())-absent"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no shared-memory object named"))
    }
}
