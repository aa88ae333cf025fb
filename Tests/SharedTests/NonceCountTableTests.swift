import CShared
import Shared
import Testing

/// The auth section's nc array: counts must grow per nonce, a slot reused by a newer
/// nonce refuses the old one, and the inspector reads what the table holds.
@Suite struct NonceCountTableTests {
    @Test func countsGrowPerNonceAndReusedSlotsAreRefused() throws {
        let arena = try Arena.create(name: testArenaName("auth"), size: 4 << 20)
        defer { try? arena.unlink() }
        let secret = [UInt8](repeating: 7, count: Int(CS_AUTH_SECRET_BYTES))
        let table = try arena.ref.installNonceCounts(order: 4, randomSecret: secret, nonceExpire: 300, nonceCount: true)
        #expect(table.size == 16)
        #expect(table.randomSecret == secret)
        let a = table.issue(), b = table.issue()
        #expect(b == a + 1)
        #expect(table.check(id: a, nc: 1) == .accepted)
        #expect(table.check(id: a, nc: 1) == .replay)
        #expect(table.check(id: b, nc: 1) == .accepted, "each nonce has its own count")
        #expect(table.check(id: a, nc: 3) == .accepted)
        #expect(table.check(id: a, nc: 2) == .replay)
        #expect(table.check(id: a, nc: 256) == .outOfRange)
        #expect(table.check(id: a, nc: 0) == .outOfRange)
        #expect(table.check(id: b + 1, nc: 1) == .lost, "an id never issued")
        for _ in 0..<16 { _ = table.issue() }
        #expect(table.check(id: a, nc: 4) == .lost, "16 nonces later its slot belongs to another")

        let report = ArenaInspector(base: UnsafeRawPointer(arena.ref.header), size: 4 << 20).report()
        let auth = try #require(report.auth)
        #expect(auth.slots == 16)
        #expect(auth.secret == "random")
        #expect(auth.issued == 18)
        #expect(auth.accepted == 3)
        #expect(auth.replays == 2)
        #expect(auth.lost == 2)
        #expect(report.problems.isEmpty, "\(report.problems)")
    }

    @Test func badSizesAreRefused() throws {
        let arena = try Arena.create(name: testArenaName("auth-bad"), size: 1 << 20)
        defer { try? arena.unlink() }
        #expect(throws: ArenaError.self) {
            _ = try arena.ref.installNonceCounts(order: 40, randomSecret: nil, nonceExpire: 300, nonceCount: true)
        }
        #expect(throws: ArenaError.self) {
            _ = try arena.ref.installNonceCounts(order: 8, randomSecret: [1, 2], nonceExpire: 300, nonceCount: true)
        }
        let configured = try arena.ref.installNonceCounts(
            order: 8, randomSecret: nil, nonceExpire: 300, nonceCount: false)
        #expect(configured.randomSecret == nil)
    }
}
