import CShared
#if canImport(Glibc)
import Glibc
#endif

extension ArenaReport {
    /// Section "usrloc": usrloc's location table, its counters and the first contacts.
    public struct Usrloc: Codable, Sendable {
        public var buckets: UInt32
        public var capacity: UInt64
        /// Contacts the table counts (expired ones the timer has not removed included).
        public var contacts: UInt64
        /// Contacts found by the walk, and the distinct AORs they belong to.
        public var contactsWalked: Int
        public var aors: Int
        public var expiredRemoved: UInt64
        public var rejectedFull: UInt64
        public var useDomain: Bool
        /// usrloc's db_mode (0 memory, 1 write-through, 2 write-back, 3 database only).
        public var dbMode: UInt32
        /// Contacts marked dirty (db_mode 2: changed since the last flush), from the walk.
        public var dirty: Int
        /// Contacts written by write-back flushes, and database writes that failed.
        public var dbWritten: UInt64
        public var dbFailed: UInt32
        /// Bytes of a contact's fixed part (its strings follow it in the same allocation).
        public var contactHeaderBytes: Int
        public var lockHolders: [Int32]
        /// At most `ArenaInspector.maxItemsPerTable` contacts, bucket order.
        public var shown: [UsrlocContact]
    }

    public struct UsrlocContact: Codable, Sendable {
        public var aor: String
        public var uri: String
        /// Seconds left; nil = permanent; negative = expired, not yet removed.
        public var expiresInSeconds: Int?
        public var q: Int32
        public var callID: String
        public var cseq: Int32
        public var received: String?
        public var path: String?
        public var socket: String
        public var userAgent: String
        /// Not yet written to the database (db_mode 2).
        public var dirty: Bool
    }
}

extension ArenaInspector {
    func readUsrloc(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Usrloc? {
        let section = s.offset..<(s.offset + s.size)
        guard let t = load(cs_ul_table.self, at: s.offset, in: section) else {
            problems.append("usrloc table out of bounds")
            return nil
        }
        var out = ArenaReport.Usrloc(
            buckets: t.bucket_count, capacity: t.capacity, contacts: t.contacts, contactsWalked: 0, aors: 0,
            expiredRemoved: t.expired, rejectedFull: t.rejected_full, useDomain: t.use_domain != 0,
            dbMode: t.db_mode, dirty: 0, dbWritten: t.db_written, dbFailed: t.db_failed,
            contactHeaderBytes: MemoryLayout<cs_ul_contact>.size, lockHolders: [], shown: [])
        let bucketStride = MemoryLayout<cs_ul_bucket>.stride
        let arrayStart = Int(clamping: t.buckets_offset)
        guard t.bucket_count > 0, t.bucket_count & (t.bucket_count - 1) == 0,
              arrayStart >= section.lowerBound, arrayStart <= section.upperBound,
              (section.upperBound - arrayStart) / bucketStride >= Int(t.bucket_count) else {
            problems.append("usrloc: \(t.bucket_count) buckets at offset \(t.buckets_offset) do not fit the section")
            return out
        }
        let itemSize = MemoryLayout<cs_ul_contact>.size
        var budget = size / itemSize + 1
        var holders: Set<Int32> = []
        var aors: Set<String> = []
        let now = Int(time(nil))
        buckets: for b in 0..<Int(t.bucket_count) {
            guard let bucket = load(cs_ul_bucket.self, at: arrayStart + b * bucketStride, in: section) else { continue }
            if bucket.lock.holder_pid != 0 { holders.insert(bucket.lock.holder_pid) }
            if bucket.first == 0 { continue }
            let walk = walkChain(from: bucket.first, itemSize: itemSize,
                                 describe: { "usrloc bucket \(b): contact at offset \($0)" }, budget: &budget,
                                 budgetExceeded: "usrloc: more contacts than the arena can hold (a cycle?); walk stopped") { o in
                let c = base.loadUnaligned(fromByteOffset: o, as: cs_ul_contact.self)
                let lens = withUnsafeBytes(of: c.len) { Array($0.bindMemory(to: UInt16.self)) }
                let total = lens.reduce(0) { $0 + Int($1) }
                guard total <= size - o - itemSize else {
                    return .stop(": string lengths (\(total) bytes) run past the arena; walk of the bucket stopped")
                }
                var fields: [String] = []
                var at = o + itemSize
                for n in lens {
                    let shown = min(Int(n), maxStringBytes)
                    fields.append(String(decoding: UnsafeRawBufferPointer(start: base + at, count: shown), as: UTF8.self))
                    at += Int(n)
                }
                out.contactsWalked += 1
                if c.state == CS_UL_DIRTY { out.dirty += 1 }
                aors.insert(fields[Int(CS_UL_AOR)])
                if out.shown.count < maxItemsPerTable {
                    out.shown.append(.init(
                        aor: fields[Int(CS_UL_AOR)], uri: fields[Int(CS_UL_URI)],
                        expiresInSeconds: c.expires == 0 ? nil : Int(c.expires) - now, q: c.q,
                        callID: fields[Int(CS_UL_CALLID)], cseq: c.cseq,
                        received: fields[Int(CS_UL_RECEIVED)].isEmpty ? nil : fields[Int(CS_UL_RECEIVED)],
                        path: fields[Int(CS_UL_PATH)].isEmpty ? nil : fields[Int(CS_UL_PATH)],
                        socket: fields[Int(CS_UL_SOCKET)], userAgent: fields[Int(CS_UL_UA)],
                        dirty: c.state == CS_UL_DIRTY))
                }
                return .next(c.next)
            }
            problems += walk.problems
            if !walk.budgetHeld { break buckets }
        }
        out.aors = aors.count
        out.lockHolders = holders.sorted()
        return out
    }
}
