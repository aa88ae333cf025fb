import CShared
import Foundation
import Testing
@testable import Shared

/// usrloc's location table (section "usrloc"): order by q, replace, remove, capacity,
/// expiry purge, the inspector's view and damage reported without a crash.
@Suite struct LocationTableTests {
    static func make(_ tag: String, capacity: Int = 100, hashSize: Int = 4) throws -> Arena {
        let arena = try Arena.create(name: testArenaName(tag), size: 8 << 20)
        _ = try arena.ref.installLocationTable(hashSize: hashSize, capacity: capacity, useDomain: false)
        return arena
    }

    static func contact(_ aor: String, _ port: Int, q: Int = -1, expires: Int = LocationTable.now + 60) -> LocationTable.Contact {
        var c = LocationTable.Contact(aor: aor, uri: "sip:\(aor)@127.0.0.1:\(port)", expires: expires)
        c.q = q
        c.callID = "cid-\(aor)"
        c.cseq = 1
        c.userAgent = "test"
        c.socket = "udp:127.0.0.1:5060"
        c.path = port % 2 == 0 ? "<sip:edge.example.com;lr>" : ""
        c.ruid = "uloc-\(aor)-\(port)"
        c.instance = "<urn:uuid:\(port)>"
        c.received = "sip:192.0.2.1:\(port)"
        return c
    }

    static func report(_ arena: borrowing Arena) -> ArenaReport {
        var inspector = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size)
        inspector.maxItemsPerTable = 50
        return inspector.report()
    }

    @Test func contactsKeepTheirFieldsAndQOrder() throws {
        let arena = try Self.make("ul-order")
        defer { try? arena.unlink() }
        let table = try #require(arena.ref.locationTable)
        #expect(arena.ref.locationTable?.bucketCount == 16)
        // Equal q: a later contact goes after; a higher q goes first; unspecified is lowest.
        for (port, q) in [(1, -1), (2, -1), (3, 900), (4, 100)] {
            #expect(table.insert(Self.contact("alice", port, q: q)) == nil)
        }
        for i in 0..<20 { _ = table.insert(Self.contact("other\(i)", 9)) }
        let alice = table.contacts(of: "alice")
        #expect(alice.map(\.uri) == [3, 4, 1, 2].map { "sip:alice@127.0.0.1:\($0)" })
        #expect(alice[0].q == 900 && alice[0].callID == "cid-alice" && alice[0].userAgent == "test")
        #expect(alice[0].ruid == "uloc-alice-3" && alice[0].instance == "<urn:uuid:3>" && alice[0].received == "sip:192.0.2.1:3")
        #expect(alice[0].socket == "udp:127.0.0.1:5060" && alice[0].path.isEmpty)
        #expect(alice.first { $0.uri.hasSuffix(":4") }?.path == "<sip:edge.example.com;lr>")
        #expect(table.count == 24 && table.allContacts().count == 24)

        // An update keeps its place while its neighbours' q still bracket it; otherwise it
        // goes before the first contact whose q is not below its own (Kamailio 5.6.3).
        var changed = Self.contact("alice", 1, q: 50)
        changed.cseq = 7
        #expect(table.replace(changed) == nil)
        #expect(table.contacts(of: "alice").map(\.uri) == [3, 4, 1, 2].map { "sip:alice@127.0.0.1:\($0)" })
        #expect(table.contacts(of: "alice").first { $0.uri.hasSuffix(":1") }?.cseq == 7)
        changed.q = 1000
        #expect(table.replace(changed) == nil)
        #expect(table.contacts(of: "alice").map(\.uri) == [3, 4, 2, 1].map { "sip:alice@127.0.0.1:\($0)" })
        var kept = Self.contact("alice", 4, q: 500)
        kept.cseq = 2
        #expect(table.replace(kept) == nil)
        #expect(table.contacts(of: "alice").map(\.uri) == [3, 4, 2, 1].map { "sip:alice@127.0.0.1:\($0)" })
        #expect(table.replace(Self.contact("alice", 77)) == .notFound)
        #expect(table.remove(aor: "alice", uri: "sip:alice@127.0.0.1:3"))
        #expect(!table.remove(aor: "alice", uri: "sip:alice@127.0.0.1:3"))
        #expect(table.remove(aor: "alice") == 3)
        #expect(table.contacts(of: "alice").isEmpty && table.count == 20)
    }

    @Test func aFullTableRefusesAndKeepsWhatItHas() throws {
        let arena = try Self.make("ul-full", capacity: 3)
        defer { try? arena.unlink() }
        let table = try #require(arena.ref.locationTable)
        for i in 0..<3 { #expect(table.insert(Self.contact("u\(i)", 5)) == nil) }
        #expect(table.insert(Self.contact("u9", 5)) == .full)
        #expect(table.count == 3 && table.allContacts().map(\.aor).sorted() == ["u0", "u1", "u2"])
        #expect(Self.report(arena).usrloc?.rejectedFull == 1)
        table.remove(aor: "u1")
        #expect(table.insert(Self.contact("u9", 5)) == nil)
    }

    @Test func purgeRemovesOnlyExpiredContacts() throws {
        let arena = try Self.make("ul-purge")
        defer { try? arena.unlink() }
        let table = try #require(arena.ref.locationTable)
        let now = LocationTable.now
        _ = table.insert(Self.contact("a", 1, expires: now - 1))
        _ = table.insert(Self.contact("a", 2, expires: now + 100))
        _ = table.insert(Self.contact("b", 1, expires: now))
        _ = table.insert(Self.contact("c", 1, expires: 0))
        // Shares: the buckets of rank 0 of 2 and rank 1 of 2 together are all of them.
        let first = table.purgeExpired(now: now, share: (0, 2))
        let second = table.purgeExpired(now: now, share: (1, 2))
        #expect(first + second == 2)
        #expect(table.allContacts().map(\.uri).sorted() == ["sip:a@127.0.0.1:2", "sip:c@127.0.0.1:1"])
        #expect(table.expiredTotal == 2)
    }

    @Test func theInspectorShowsContactsAndSurvivesDamage() throws {
        let arena = try Self.make("ul-report", hashSize: 1)
        defer { try? arena.unlink() }
        let table = try #require(arena.ref.locationTable)
        for i in 0..<6 { _ = table.insert(Self.contact("user\(i % 3)", i)) }
        let u = try #require(Self.report(arena).usrloc)
        #expect(u.contacts == 6 && u.contactsWalked == 6 && u.aors == 3 && u.buckets == 2 && u.capacity == 100)
        #expect(Set(u.shown.map(\.aor)) == ["user0", "user1", "user2"])
        #expect(u.shown.allSatisfy { ($0.expiresInSeconds ?? 0) > 50 && $0.socket == "udp:127.0.0.1:5060" })
        #expect(Self.report(arena).sections.contains { $0.kind == "location table" })
        // A link that leaves the arena is a problem in the report, not a crash.
        let buckets = (UnsafeMutableRawPointer(arena.base) + Int(table.raw.pointee.buckets_offset))
            .assumingMemoryBound(to: cs_ul_bucket.self)
        let saved = buckets[0].first
        buckets[0].first = UInt64(arena.size + 4096)
        #expect(Self.report(arena).problems.contains { $0.contains("usrloc bucket 0") })
        buckets[0].first = saved
        #expect(Self.report(arena).problems.isEmpty)
    }

    @Test func aBadHashSizeIsRefused() throws {
        let arena = try Arena.create(name: testArenaName("ul-bad"), size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(throws: ArenaError.self) { _ = try arena.ref.installLocationTable(hashSize: 0, capacity: 1, useDomain: false) }
    }
}
