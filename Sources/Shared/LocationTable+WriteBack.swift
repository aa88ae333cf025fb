import CShared

/// The location table's database bookkeeping (usrloc db_mode 1, 2): which contacts a
/// write-back flush still has to write, and the counters respite-shm shows.
///
/// The arena owns the marks and counters (in cs_ul_table and each cs_ul_contact). Writers
/// (receivers in registrar's save) set a contact's mark with the contact itself; the
/// `USRLOC Timer` process, and the master after its workers stopped, take the marks.
extension LocationTable {
    /// usrloc's db_mode, as the master made the table.
    public var dbMode: Int { Int(raw.pointee.db_mode) }
    /// Contacts written to the database by write-back flushes since start.
    public var databaseWritten: Int { Int(cs_atomic_load_u64(&raw.pointee.db_written)) }
    /// Database writes that failed since start (any mode).
    public var databaseFailed: Int { Int(raw.pointee.db_failed) }

    /// Copies out every contact marked dirty and clears its mark (one bucket lock at a
    /// time). A caller that cannot write one puts the mark back with `markDirty`.
    public func takeDirty() -> [Contact] {
        var out: [Contact] = []
        withUnsafeMutablePointer(to: &out) { context in
            _ = cs_ul_take_dirty(arena.header, raw, { context, c, bytes in
                guard let context, let c, let bytes else { return }
                context.assumingMemoryBound(to: [Contact].self).pointee.append(LocationTable.copy(c.pointee, bytes))
            }, context)
        }
        return out
    }

    /// Marks a contact dirty again; false when it is no longer in the table.
    @discardableResult
    public func markDirty(aor: String, uri: String) -> Bool {
        withBytes(aor) { a, an in withBytes(uri) { u, un in cs_ul_mark_dirty(arena.header, raw, a, an, u, un) } } == 0
    }

    /// Counts contacts a flush wrote and database writes that failed.
    public func countDatabase(written: Int = 0, failed: Int = 0) {
        cs_ul_count_db(raw, UInt64(max(written, 0)), UInt32(clamping: max(failed, 0)))
    }
}
