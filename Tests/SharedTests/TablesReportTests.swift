import CShared
import Foundation
import Testing
@testable import Shared

/// The inspector's view of `$shv` and `$sht`: values shown, damage reported, no crash.
@Suite struct TablesReportTests {
    static func filled(_ tag: String) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: 4 << 20)
        let tables = try arena.ref.installTables(
            shv: ["count"], shvset: [ShvsetSpec(name: "gw", value: .string("sip:gw.example.com"))],
            htables: [HashTableSpec(name: "calls", sizeLog2: 3, autoexpireSeconds: 60, initialValue: 0),
                      HashTableSpec(name: "tiny", sizeLog2: 1)])
        arena.ref.setReady()
        _ = tables.variables.set(0, .int(7))
        let calls = tables.hashTables.table(named: "calls")!
        _ = calls.set("alice", .string("busy"))
        _ = calls.increment("bob")
        return arena
    }

    static func report(_ arena: borrowing Arena, limit: Int = 20) -> ArenaReport {
        var inspector = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size)
        inspector.maxItemsPerTable = limit
        return inspector.report()
    }

    @Test func showsVariablesAndItems() throws {
        let arena = try Self.filled("rep-show")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let r = Self.report(arena)
        #expect(r.problems.isEmpty, "\(r.problems)")
        #expect(r.sections.map(\.kind).contains("shared vars"))
        #expect(r.sections.map(\.kind).contains("hash tables"))
        let vars = try #require(r.sharedVariables)
        #expect(vars.map(\.name) == ["count", "gw"])
        #expect(vars[0].type == "int" && vars[0].int == 7)
        #expect(vars[1].type == "string" && vars[1].string == "sip:gw.example.com")
        let ht = try #require(r.hashTables)
        #expect(ht.map(\.name) == ["calls", "tiny"])
        let calls = ht[0]
        #expect(calls.items == 2 && calls.itemsWalked == 2 && calls.buckets == 8 && calls.initval == 0)
        #expect(calls.autoexpireSeconds == 60)
        let byKey = Dictionary(uniqueKeysWithValues: calls.shown.map { ($0.key, $0) })
        #expect(byKey["alice"]?.string == "busy")
        #expect(byKey["bob"]?.int == 1)
        #expect((byKey["bob"]?.expiresInSeconds ?? 0) > 58)
        #expect(ht[1].initval == nil)

        // A held bucket lock shows its holder.
        let tiny = tables.hashTables.table(named: "tiny")!
        tiny.lock("x")
        #expect(Self.report(arena).hashTables?[1].lockHolders == [getpid()])
        _ = tiny.set("x", .int(1)) // a nested lock and release keep the holder shown
        #expect(Self.report(arena).hashTables?[1].lockHolders == [getpid()])
        tiny.unlock("x")
        tiny.unlock("x") // not held: ignored
        #expect(Self.report(arena).hashTables?[1].lockHolders == [])
        tiny.lock("x")
        tiny.unlock("x")
    }

    @Test func showsAtMostTheLimitButWalksAll() throws {
        let arena = try Self.filled("rep-limit")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let tiny = tables.hashTables.table(named: "tiny")!
        for i in 0..<100 { _ = tiny.set("k\(i)", .int(i)) }
        _ = tiny.set("long", .string(String(repeating: "x", count: 1000)))
        let t = try #require(Self.report(arena, limit: 500).hashTables?[1])
        #expect(t.itemsWalked == 101 && t.shown.count == 101)
        let long = try #require(t.shown.first { $0.key == "long" })
        #expect(long.truncated == true && long.string?.count == 200)
        #expect(Self.report(arena, limit: 5).hashTables?[1].shown.count == 5)
    }

    /// The first item of a non-empty bucket of `table` (0-based in the directory).
    static func bucket(_ tables: SharedTables, _ table: Int) -> UnsafeMutablePointer<cs_htable_bucket> {
        let t = tables.hashTables.tables[table]
        let buckets = (tables.hashTables.arena.base + Int(t.raw.pointee.buckets_offset))
            .assumingMemoryBound(to: cs_htable_bucket.self)
        return (0..<t.bucketCount).map { buckets + $0 }.first { $0.pointee.first != 0 }!
    }

    @Test func outOfBoundsLinksAreProblemsNotCrashes() throws {
        let arena = try Self.filled("rep-oob")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let b = Self.bucket(tables, 0)
        let saved = b.pointee.first
        for bad: UInt64 in [UInt64(arena.size) - 8, UInt64(arena.size) * 3, 8, 12_345] {
            b.pointee.first = bad
            let r = Self.report(arena)
            #expect(r.problems.contains { $0.contains("hash table 'calls'") }, "\(bad): \(r.problems)")
        }
        b.pointee.first = saved
        #expect(Self.report(arena).problems.isEmpty)
    }

    @Test func cyclesAndBadLengthsAreProblems() throws {
        let arena = try Self.filled("rep-cycle")
        let tables = try arena.ref.sharedTables()
        defer { try? arena.unlink() }
        let b = Self.bucket(tables, 0)
        let item = (arena.base + Int(b.pointee.first)).assumingMemoryBound(to: cs_htable_item.self)
        let savedNext = item.pointee.next
        item.pointee.next = b.pointee.first
        #expect(Self.report(arena).problems.contains { $0.contains("cycle") })
        item.pointee.next = savedNext
        let savedLen = item.pointee.str_len
        item.pointee.str_len = UInt32.max
        #expect(Self.report(arena).problems.contains { $0.contains("run past the arena") })
        item.pointee.str_len = savedLen

        // A shared variable whose string points outside the arena.
        let entries = (UnsafeMutableRawPointer(tables.variables.raw) + MemoryLayout<cs_shv_table>.size)
            .assumingMemoryBound(to: cs_shv_entry.self)
        let savedOffset = entries[1].str_offset
        entries[1].str_offset = UInt64(arena.size) - 4
        let r = Self.report(arena)
        #expect(r.problems.contains { $0.contains("shared variable 'gw'") })
        #expect(r.sharedVariables?[1].string == nil)
        entries[1].str_offset = savedOffset
        #expect(Self.report(arena).problems.isEmpty)
    }
}
