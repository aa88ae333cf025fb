import CShared
import Foundation
import Testing
@testable import Shared

/// The location table's write-back marks (usrloc db_mode 2): a dirty contact is taken
/// once, a failed write puts the mark back, and respite-shm shows marks and counters.
@Suite struct LocationWriteBackTests {
    @Test func dirtyContactsAreTakenOnceAndCanBeMarkedAgain() throws {
        let arena = try Arena.create(name: testArenaName("ul-dirty"), size: 8 << 20)
        defer { try? arena.unlink() }
        let table = try arena.ref.installLocationTable(hashSize: 4, capacity: 10, useDomain: false, dbMode: 2)
        var bob = LocationTableTests.contact("bob", 7001)
        bob.dirty = true
        #expect(table.insert(bob) == nil)
        #expect(table.insert(LocationTableTests.contact("carol", 7003)) == nil)
        let report = LocationTableTests.report(arena)
        #expect(report.usrloc?.dbMode == 2 && report.usrloc?.dirty == 1)
        #expect(report.usrloc?.shown.first { $0.aor == "bob" }?.dirty == true)

        let taken = table.takeDirty()
        #expect(taken.map(\.aor) == ["bob"] && taken.first?.dirty == false)
        #expect(table.takeDirty().isEmpty)
        #expect(table.contacts(of: "bob").first?.dirty == false)
        // A write that failed: marked again, taken by the next flush.
        #expect(table.markDirty(aor: "bob", uri: bob.uri))
        #expect(!table.markDirty(aor: "bob", uri: "sip:nobody@127.0.0.1"))
        #expect(table.takeDirty().map(\.aor) == ["bob"])

        table.countDatabase(written: 3, failed: 2)
        #expect(table.databaseWritten == 3 && table.databaseFailed == 2 && table.dbMode == 2)
        let counted = LocationTableTests.report(arena).usrloc
        #expect(counted?.dbWritten == 3 && counted?.dbFailed == 2 && counted?.dirty == 0)
    }
}
