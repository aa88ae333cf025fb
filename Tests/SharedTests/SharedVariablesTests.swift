import CShared
import Testing
@testable import Shared

/// `$shv`: slots made before fork, values of each type, strings in the arena.
@Suite struct SharedVariablesTests {
    /// An arena with the given variables and no hash tables.
    static func make(_ tag: String, size: Int = 4 << 20, names: [String] = ["a", "b"],
                     shvset: [ShvsetSpec] = []) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: size)
        _ = try arena.ref.installTables(shv: names, shvset: shvset, htables: [])
        return arena
    }

    @Test func setsAndGetsEveryType() throws {
        let arena = try Self.make("shv-types")
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        let a = try #require(shv.index(of: "a"))
        #expect(shv.get(a) == .null)
        #expect(shv.set(a, .int(42)))
        #expect(shv.get(a) == .int(42))
        #expect(shv.set(a, .int(-7)))
        #expect(shv.get(a) == .int(-7))
        #expect(shv.set(a, .string("sip:alice@example.com")))
        #expect(shv.get(a) == .string("sip:alice@example.com"))
        let long = String(repeating: "x", count: 5000) // longer than the first read buffer
        #expect(shv.set(a, .string(long)))
        #expect(shv.get(a) == .string(long))
        #expect(shv.set(a, .string("")))
        #expect(shv.get(a) == .string(""))
        #expect(shv.set(a, .null))
        #expect(shv.get(a) == .null)
        #expect(shv.get(99) == .null)
        #expect(!shv.set(99, .int(1)))
    }

    @Test func namesAreFixedSlots() throws {
        let arena = try Self.make("shv-names", names: ["a", "b", "a"])
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        #expect(shv.count == 2)
        #expect(shv.names == ["a", "b"])
        #expect(shv.index(of: "b") == 1)
        #expect(shv.index(of: "c") == nil)
        #expect(try shv.add("a") == 0, "an existing name gives its slot")
        #expect(throws: ArenaError.self) { _ = try shv.add("c") } // capacity is the distinct names
        #expect(throws: ArenaError.self) { _ = try shv.add(String(repeating: "n", count: 32)) }
        #expect(throws: ArenaError.self) { _ = try shv.add("") }
    }

    @Test func shvsetGivesInitialValues() throws {
        let specs = try ["x=i:10", "gw=s:sip:10.0.0.1:5060", "x=i:11"].map(ShvsetSpec.parse)
        let arena = try Self.make("shv-init", names: ["a"], shvset: specs)
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        #expect(shv.names == ["a", "x", "gw"])
        #expect(shv.get(shv.index(of: "x")!) == .int(11), "a later shvset wins")
        #expect(shv.get(shv.index(of: "gw")!) == .string("sip:10.0.0.1:5060"))
        #expect(shv.get(0) == .null)
    }

    @Test func replacedStringsAreFreed() throws {
        let arena = try Self.make("shv-free")
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        let ref = arena.ref
        let before = ref.counters
        #expect(shv.set(0, .string(String(repeating: "a", count: 100))))
        #expect(ref.counters.live_allocs == before.live_allocs + 1)
        for n in 1...50 {
            #expect(shv.set(0, .string(String(repeating: "b", count: 100 + n * 37))))
        }
        #expect(ref.counters.live_allocs == before.live_allocs + 1, "each replaced string was freed")
        #expect(shv.set(0, .int(3)))
        let after = ref.counters
        #expect(after.live_allocs == before.live_allocs)
        #expect(after.used_bytes == before.used_bytes)
        #expect(ref.check().error_offset == 0)
    }

    @Test func aFullArenaFailsTheSetAndKeepsTheOldValue() throws {
        let arena = try Self.make("shv-full", size: 1 << 20)
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        let ref = arena.ref
        #expect(shv.set(0, .string("old")))
        var blocks: [UnsafeMutableRawPointer] = []
        while let p = ref.allocate(4096) { blocks.append(p) }
        let failedBefore = ref.counters.failed_allocs
        #expect(!shv.set(0, .string(String(repeating: "n", count: 8000))))
        #expect(ref.counters.failed_allocs > failedBefore)
        #expect(shv.get(0) == .string("old"))
        #expect(shv.set(0, .int(5)), "an integer needs no allocation")
        #expect(shv.get(0) == .int(5))
        for p in blocks { ref.free(p) }
        #expect(shv.set(0, .string(String(repeating: "n", count: 8000))))
    }

    @Test func sectionsAreFoundAgainByName() throws {
        let arena = try Self.make("shv-find")
        let shv = try arena.ref.sharedTables().variables
        defer { try? arena.unlink() }
        #expect(shv.set(1, .int(9)))
        let again = try arena.ref.sharedTables()
        #expect(again.variables.get(again.variables.index(of: "b")!) == .int(9))
        #expect(again.hashTables.count == 0)
        #expect(again.variables.lock.holderPID == 0)
        #expect(again.variables.lock.recoveries == 0)
    }
}
