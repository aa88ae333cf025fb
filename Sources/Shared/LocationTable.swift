import CShared
#if canImport(Glibc)
import Glibc
#endif

/// usrloc's location table (section "usrloc", cs_usrloc.h): the contacts registered for
/// each address of record, shared by every server process.
///
/// A view (no ownership): the arena owns the table and every contact. Operations take the
/// AOR's bucket lock (robust, recursive, process-shared) and copy contacts in or out; no
/// caller ever holds a pointer into a contact. Any server process may call any of them;
/// `withAORLocked` serializes read-decide-write sequences (registrar's save) per AOR.
public struct LocationTable: @unchecked Sendable {
    public let arena: ArenaRef
    public let raw: UnsafeMutablePointer<cs_ul_table>

    public static let section = "usrloc"
    /// Kamailio's `hash_size` range (2^n buckets).
    public static let hashSizeRange = 1...20

    public init(arena: ArenaRef, _ raw: UnsafeMutablePointer<cs_ul_table>) {
        self.arena = arena
        self.raw = raw
    }

    /// One registered contact, as copied out of (or into) the table.
    public struct Contact: Equatable, Sendable {
        public var aor: String
        /// The contact's address (the URI of the Contact header).
        public var uri: String
        /// Wall-clock seconds when it expires; 0 = permanent.
        public var expires: Int
        /// 0...1000, or -1 when the Contact gave no q.
        public var q: Int = -1
        public var callID: String = ""
        public var cseq: Int = 0
        public var userAgent: String = ""
        /// Where the REGISTER came from (`sip:ip:port;transport=...`), when saved.
        public var received: String = ""
        /// The Path header values, when saved.
        public var path: String = ""
        /// The local socket the REGISTER arrived on (`udp:127.0.0.1:5060`).
        public var socket: String = ""
        /// `+sip.instance`, when given.
        public var instance: String = ""
        public var ruid: String = ""
        public var flags: UInt32 = 0
        public var cflags: UInt32 = 0
        /// Methods bitmask from the Contact's `methods` parameter or Allow; nil = not known.
        public var methods: UInt32?
        public var regID: Int = 0
        public var lastModified: Int = 0
        /// Changed since the last write-back flush (db_mode 2); false in the other modes.
        public var dirty = false

        public init(aor: String, uri: String, expires: Int) {
            self.aor = aor
            self.uri = uri
            self.expires = expires
        }

        /// Seconds left (0 for a permanent contact), relative to `now`.
        public func remaining(now: Int) -> Int { expires == 0 ? 0 : max(expires - now, 0) }

        public func isExpired(now: Int) -> Bool { expires != 0 && expires <= now }
    }

    public enum Failure: Error, Equatable, Sendable {
        /// `contacts_max` contacts are registered already.
        case full
        /// The arena has no room for the contact.
        case noMemory
        /// No such contact (replace).
        case notFound
        /// A string is longer than 65,535 bytes or the AOR is empty.
        case invalid
    }

    public var bucketCount: Int { Int(raw.pointee.bucket_count) }
    public var capacity: Int { Int(raw.pointee.capacity) }
    public var useDomain: Bool { raw.pointee.use_domain != 0 }
    /// Contacts stored (expired ones not yet removed by the timer included).
    public var count: Int { Int(cs_atomic_load_u64(&raw.pointee.contacts)) }
    /// Contacts the timer has removed since start.
    public var expiredTotal: Int { Int(cs_atomic_load_u64(&raw.pointee.expired)) }

    /// Now, as the table counts expiry (wall-clock seconds, like Kamailio's).
    public static var now: Int { Int(time(nil)) }

    /// Runs `body` holding the AOR's bucket lock; the table's own operations nest inside.
    public func withAORLocked<R>(_ aor: String, _ body: () throws -> R) rethrows -> R {
        _ = withBytes(aor) { cs_ul_lock_aor(arena.header, raw, $0, $1) }
        defer { withBytes(aor) { cs_ul_unlock_aor(arena.header, raw, $0, $1) } }
        return try body()
    }

    /// The AOR's contacts in order (q descending), expired ones included: callers filter.
    public func contacts(of aor: String) -> [Contact] {
        var out: [Contact] = []
        withUnsafeMutablePointer(to: &out) { context in
            _ = withBytes(aor) { k, n in
                cs_ul_visit_aor(arena.header, raw, k, n, { context, c, bytes in
                    guard let context, let c, let bytes else { return }
                    context.assumingMemoryBound(to: [Contact].self).pointee.append(LocationTable.copy(c.pointee, bytes))
                }, context)
            }
        }
        return out
    }

    /// Every contact, bucket by bucket (one bucket lock at a time).
    public func allContacts() -> [Contact] {
        var out: [Contact] = []
        withUnsafeMutablePointer(to: &out) { context in
            _ = cs_ul_visit(arena.header, raw, { context, c, bytes in
                guard let context, let c, let bytes else { return }
                context.assumingMemoryBound(to: [Contact].self).pointee.append(LocationTable.copy(c.pointee, bytes))
            }, context)
        }
        return out
    }

    /// Adds a contact (its AOR must not have one with the same address: use `replace`).
    /// nil when done; otherwise why nothing changed.
    @discardableResult
    public func insert(_ contact: Contact) -> Failure? {
        withRecord(contact) { fields, bytes in
            switch cs_ul_insert(arena.header, raw, fields, bytes) {
            case 0: return nil
            case ENOSPC: return .full
            case ENOMEM: return .noMemory
            default: return .invalid
            }
        }
    }

    /// Replaces the contact with the same AOR and address. nil when done.
    @discardableResult
    public func replace(_ contact: Contact) -> Failure? {
        withRecord(contact) { fields, bytes in
            switch cs_ul_replace(arena.header, raw, fields, bytes) {
            case 0: return nil
            case ENOENT: return .notFound
            case ENOMEM: return .noMemory
            default: return .invalid
            }
        }
    }

    /// Removes one contact; false when it was not there.
    @discardableResult
    public func remove(aor: String, uri: String) -> Bool {
        withBytes(aor) { a, an in withBytes(uri) { u, un in cs_ul_remove(arena.header, raw, a, an, u, un) } } == 0
    }

    /// Removes every contact of an AOR; returns how many.
    @discardableResult
    public func remove(aor: String) -> Int {
        Int(withBytes(aor) { cs_ul_remove_aor(arena.header, raw, $0, $1) })
    }

    /// Removes the contacts expired by `now`; returns how many (the usrloc timer). With
    /// `share` (rank, processes), only buckets rank, rank + processes, ...
    @discardableResult
    public func purgeExpired(now: Int = LocationTable.now, share: (rank: Int, of: Int) = (0, 1)) -> Int {
        Int(cs_ul_purge_expired(arena.header, raw, Int64(now), UInt32(share.rank), UInt32(max(share.of, 1))))
    }

    // ---- records ----

    static func copy(_ c: cs_ul_contact, _ bytes: UnsafePointer<CChar>) -> Contact {
        var strings: [String] = []
        var at = 0
        withUnsafeBytes(of: c.len) { raw in
            let lens = raw.bindMemory(to: UInt16.self)
            for i in 0..<Int(CS_UL_RUID) + 1 {
                let n = Int(lens[i])
                strings.append(String(decoding: UnsafeRawBufferPointer(start: bytes + at, count: n), as: UTF8.self))
                at += n
            }
        }
        var out = Contact(aor: strings[Int(CS_UL_AOR)], uri: strings[Int(CS_UL_URI)], expires: Int(c.expires))
        out.callID = strings[Int(CS_UL_CALLID)]
        out.userAgent = strings[Int(CS_UL_UA)]
        out.received = strings[Int(CS_UL_RECEIVED)]
        out.path = strings[Int(CS_UL_PATH)]
        out.socket = strings[Int(CS_UL_SOCKET)]
        out.instance = strings[Int(CS_UL_INSTANCE)]
        out.ruid = strings[Int(CS_UL_RUID)]
        out.q = Int(c.q)
        out.cseq = Int(c.cseq)
        out.flags = c.flags
        out.cflags = c.cflags
        out.methods = c.methods == UInt32.max ? nil : c.methods
        out.regID = Int(c.reg_id)
        out.lastModified = Int(c.last_modified)
        out.dirty = c.state == CS_UL_DIRTY
        return out
    }

    private func withRecord(_ c: Contact, _ body: (UnsafePointer<cs_ul_contact>, UnsafePointer<CChar>) -> Failure?) -> Failure? {
        let strings = [c.aor, c.uri, c.callID, c.userAgent, c.received, c.path, c.socket, c.instance, c.ruid]
        var bytes: [CChar] = []
        var fields = cs_ul_contact()
        var lens = [UInt16](repeating: 0, count: Int(CS_UL_FIELDS))
        for (i, s) in strings.enumerated() {
            let utf8 = Array(s.utf8)
            guard utf8.count <= Int(UInt16.max) else { return .invalid }
            lens[i] = UInt16(utf8.count)
            bytes += utf8.map { CChar(bitPattern: $0) }
        }
        guard !c.aor.isEmpty else { return .invalid }
        withUnsafeMutableBytes(of: &fields.len) { raw in
            for i in lens.indices { raw.storeBytes(of: lens[i], toByteOffset: i * 2, as: UInt16.self) }
        }
        fields.q = Int32(clamping: c.q)
        fields.expires = Int64(c.expires)
        fields.last_modified = Int64(c.lastModified)
        fields.cseq = Int32(truncatingIfNeeded: c.cseq)
        fields.flags = c.flags
        fields.cflags = c.cflags
        fields.methods = c.methods ?? UInt32.max
        fields.reg_id = UInt32(truncatingIfNeeded: c.regID)
        fields.tcpconn_id = -1
        fields.state = c.dirty ? CS_UL_DIRTY : CS_UL_CLEAN
        if bytes.isEmpty { bytes.append(0) }
        return withUnsafePointer(to: &fields) { f in bytes.withUnsafeBufferPointer { body(f, $0.baseAddress!) } }
    }
}

extension ArenaRef {
    /// Creates section "usrloc" (master, before fork): 2^`hashSize` buckets, at most
    /// `capacity` contacts. Throws `.invalidLayout` for a bad size, `.outOfMemory` when
    /// the arena is too small.
    public func installLocationTable(hashSize: Int, capacity: Int, useDomain: Bool, dbMode: Int = 0) throws(ArenaError) -> LocationTable {
        guard LocationTable.hashSizeRange.contains(hashSize) else {
            throw .invalidLayout("usrloc hash_size \(hashSize) is not in \(LocationTable.hashSizeRange)")
        }
        let bytes = cs_ul_table_bytes(UInt32(hashSize))
        let memory = try addSection(LocationTable.section, size: Int(bytes), kind: CS_SECTION_USRLOC, version: CS_UL_VERSION)
        let table = memory.assumingMemoryBound(to: cs_ul_table.self)
        let rc = cs_ul_table_init(header, table, UInt32(hashSize), UInt64(max(capacity, 0)), useDomain ? 1 : 0,
                                  UInt32(clamping: dbMode))
        if rc != 0 { throw .system(SystemCallError("pthread_mutex_init", errno: rc)) }
        return LocationTable(arena: self, table)
    }

    /// Section "usrloc", if the server has one (usrloc is loaded).
    public var locationTable: LocationTable? {
        section(LocationTable.section).map { LocationTable(arena: self, $0.assumingMemoryBound(to: cs_ul_table.self)) }
    }
}
