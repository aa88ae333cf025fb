import CShared
import Foundation
import Testing
@testable import Shared

/// `$sht`: items, initval, increment, expiry, reset, recursive bucket locks, the dump.
@Suite struct HashTableTests {
    static let specs = [
        HashTableSpec(name: "a", sizeLog2: 8),
        HashTableSpec(name: "counters", sizeLog2: 2, initialValue: 100),
        HashTableSpec(name: "short", sizeLog2: 4, autoexpireSeconds: 1),
        HashTableSpec(name: "tiny", sizeLog2: 1),
    ]

    static func make(_ tag: String, size: Int = 8 << 20) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: size)
        _ = try arena.ref.installTables(shv: ["v"], htables: specs)
        return arena
    }

    @Test func tablesAreFoundByName() throws {
        let arena = try Self.make("ht-find")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let dir = try arena.ref.sharedTables().hashTables
        #expect(dir.tables.map(\.name) == ["a", "counters", "short", "tiny"])
        let a = try #require(dir.table(named: "a"))
        #expect(a.sizeLog2 == 8 && a.bucketCount == 256 && a.autoexpireSeconds == 0 && a.initialValue == nil)
        #expect(dir.table(named: "counters")?.initialValue == 100)
        #expect(dir.table(named: "short")?.autoexpireSeconds == 1)
        #expect(dir.table(named: "nope") == nil)
        #expect(tables.hashTables.count == 4)
        #expect(throws: ArenaError.self) {
            let other = try Arena.create(name: testArenaName("ht-dup"), size: 1 << 20)
            defer { try? other.unlink() }
            _ = try other.ref.installTables(shv: [], htables: [HashTableSpec(name: "x"), HashTableSpec(name: "x")])
        }
    }

    @Test func getSetAndDelete() throws {
        let arena = try Self.make("ht-set")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let a = try #require(tables.hashTables.table(named: "a"))
        #expect(a.get("k") == .null)
        #expect(a.set("k", .int(5)))
        #expect(a.get("k") == .int(5))
        #expect(a.set("k", .string("hello")))
        #expect(a.get("k") == .string("hello"))
        #expect(a.set("k", .int(6)), "a string item becomes an int")
        #expect(a.get("k") == .int(6))
        let long = String(repeating: "z", count: 3000)
        #expect(a.set("k", .string(long)))
        #expect(a.get("k") == .string(long))
        #expect(a.set("", .int(1)), "the empty key is a key")
        #expect(a.get("") == .int(1))
        #expect(a.count == 2)
        #expect(a.set("k", .null), "null deletes")
        #expect(a.get("k") == .null)
        #expect(!a.remove("k"))
        #expect(a.remove(""))
        #expect(a.count == 0)
    }

    @Test func initvalAndIncrement() throws {
        let arena = try Self.make("ht-inc")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let c = try #require(tables.hashTables.table(named: "counters"))
        let a = try #require(tables.hashTables.table(named: "a"))
        #expect(c.get("missing") == .int(100))
        #expect(c.increment("n") == 101, "a missing key starts from initval")
        #expect(c.increment("n") == 102)
        #expect(c.increment("n", by: -5) == 97)
        #expect(a.increment("m") == 1, "a missing key without initval starts from 0")
        #expect(a.increment("m") == 2)
        #expect(a.set("s", .string("text")))
        #expect(a.increment("s") == nil, "a string cannot be incremented")
        #expect(a.get("s") == .string("text"))
    }

    @Test func itemsExpire() throws {
        let arena = try Self.make("ht-exp")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let ref = arena.ref
        let s = try #require(tables.hashTables.table(named: "short"))
        let a = try #require(tables.hashTables.table(named: "a"))
        let before = ref.counters
        #expect(s.set("gone", .int(1)))
        #expect(s.set("purged", .string("p")))
        #expect(a.set("kept", .int(2)))
        #expect(a.set("timed", .int(3)))
        #expect(a.expiryMilliseconds(of: "kept") == 0)
        #expect(a.setExpiry("timed", seconds: 1))
        #expect(!a.setExpiry("absent", seconds: 1))
        let left = try #require(s.expiryMilliseconds(of: "gone"))
        #expect(left > 500 && left <= 1000)
        #expect(s.get("gone") == .int(1))
        usleep(1_200_000)
        #expect(s.get("gone") == .null, "expired items are removed when met")
        #expect(a.get("timed") == .null)
        #expect(a.get("kept") == .int(2))
        #expect(s.count == 1, "'purged' is still counted until it is met or purged")
        #expect(s.purgeExpired() == 1)
        #expect(s.count == 0)
        #expect(a.remove("kept"))
        let after = ref.counters
        #expect(after.live_allocs == before.live_allocs)
        #expect(after.used_bytes == before.used_bytes)
    }

    @Test func resetReturnsTheArenaToBaseline() throws {
        let arena = try Self.make("ht-reset")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let ref = arena.ref
        let a = try #require(tables.hashTables.table(named: "a"))
        let before = ref.counters
        for i in 0..<5000 {
            #expect(i % 2 == 0 ? a.set("key-\(i)", .int(i)) : a.set("key-\(i)", .string("value \(i)")))
        }
        #expect(a.count == 5000)
        #expect(a.reset() == 5000)
        #expect(a.count == 0)
        #expect(a.get("key-2") == .null)
        let after = ref.counters
        #expect(after.live_allocs == before.live_allocs)
        #expect(after.used_bytes == before.used_bytes)
        #expect(ref.check().error_offset == 0)
    }

    @Test func lockIsRecursiveSoSetsInBetweenDoNotDeadlock() throws {
        let arena = try Self.make("ht-lock")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let t = try #require(tables.hashTables.table(named: "tiny")) // 2 buckets: neighbours share
        #expect(t.lock("k") == .clean)
        #expect(t.set("k", .int(1)))
        #expect(t.increment("k") == 2)
        #expect(t.lock("k") == .clean, "a second lock by the holder nests")
        for i in 0..<10 { #expect(t.set("other-\(i)", .int(i))) }
        t.unlock("k")
        #expect(t.get("k") == .int(2))
        t.unlock("k")
        #expect(t.items().count == 11)
    }

    @Test func manyKeysSpreadAcrossBuckets() throws {
        let arena = try Self.make("ht-many")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let a = try #require(tables.hashTables.table(named: "a"))
        let n = 20_000
        for i in 0..<n { #expect(a.increment("user\(i)@example.com", by: i) == i) }
        #expect(a.count == n)
        for i in stride(from: 0, to: n, by: 97) { #expect(a.get("user\(i)@example.com") == .int(i)) }
        let items = a.items()
        #expect(items.count == n)
        #expect(Set(items.map(\.key)).count == n)
        var perBucket = [Int](repeating: 0, count: a.bucketCount)
        for item in items { perBucket[Int(cs_htable_hash(item.key, item.key.utf8.count)) & (a.bucketCount - 1)] += 1 }
        #expect(perBucket.allSatisfy { $0 > 0 }, "FNV-1a uses every bucket")
        #expect(perBucket.max()! < 3 * n / a.bucketCount)
        #expect(cs_htable_hash("a", 1) == 0xE40C292C, "FNV-1a 32-bit reference value")
    }

    @Test func aFullArenaFailsTheSetCleanly() throws {
        let arena = try Self.make("ht-full", size: 1 << 20)
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let ref = arena.ref
        let a = try #require(tables.hashTables.table(named: "a"))
        #expect(a.set("k", .string("old")))
        var blocks: [UnsafeMutableRawPointer] = []
        while let p = ref.allocate(1024) { blocks.append(p) }
        while let p = ref.allocate(16) { blocks.append(p) }
        #expect(!a.set("k", .string(String(repeating: "n", count: 2000))))
        #expect(!a.set("new", .int(1)))
        #expect(a.increment("new2") == nil)
        #expect(a.get("k") == .string("old"))
        #expect(a.count == 1)
        for p in blocks { ref.free(p) }
        #expect(a.set("new", .int(1)))
    }
}
