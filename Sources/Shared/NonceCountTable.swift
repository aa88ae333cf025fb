import CShared

/// The auth module's nonce state (section "auth", cs_auth.h): the random secret the master
/// drew before fork and the nonce-count array that refuses replayed digest responses.
///
/// A view (no ownership): the arena owns the section. The master creates it before fork
/// (`installNonceCounts`); afterwards every receiver issues nonces and checks nc values
/// through it, with the atomics cs_auth.h documents, and respite-shm reads its counters.
public struct NonceCountTable: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_auth_nonces>

    public static let section = "auth"
    /// Kamailio's nc_array_order range: 2^order slots.
    public static let orderRange = 4...28

    public init(_ raw: UnsafeMutablePointer<cs_auth_nonces>) {
        self.raw = raw
    }

    /// What checking an nc for a nonce found.
    public enum Check: Equatable, Sendable {
        case accepted
        /// Not above the last nc accepted for the nonce.
        case replay
        /// The nonce's slot went to a newer nonce, or the id was never issued here.
        case lost
        /// nc is 0 or above 255.
        case outOfRange
    }

    /// The slots: a power of two.
    public var size: Int { Int(raw.pointee.size) }

    /// The random secret, or nil when the config sets one (`secret` modparam).
    public var randomSecret: [UInt8]? {
        guard raw.pointee.secret_source == UInt32(CS_AUTH_SECRET_RANDOM) else { return nil }
        return withUnsafeBytes(of: raw.pointee.secret) { Array($0) }
    }

    /// Takes the next nonce id and clears its slot (any process; relaxed counter).
    public func issue() -> UInt64 { cs_auth_issue(raw) }

    /// Records `nc` for nonce `id` if it is above the last one (any process; CAS).
    public func check(id: UInt64, nc: Int) -> Check {
        let value = nc < 0 || nc > Int(UInt32.max) ? UInt32.max : UInt32(nc)
        switch Int32(cs_auth_nc_check(raw, id, value)) {
        case Int32(CS_AUTH_NC_OK): return .accepted
        case Int32(CS_AUTH_NC_REPLAY): return .replay
        case Int32(CS_AUTH_NC_LOST): return .lost
        default: return .outOfRange
        }
    }
}

extension ArenaRef {
    /// Creates section "auth" (master, before fork) with 2^`order` nc slots. With no
    /// configured secret, the section gets `randomSecret` (the master draws it, so every
    /// process checks every other's nonces). Throws `.invalidLayout` for a bad order,
    /// `.outOfMemory` when the arena is too small.
    public func installNonceCounts(order: Int, randomSecret: [UInt8]?, nonceExpire: Int, nonceCount: Bool)
        throws(ArenaError) -> NonceCountTable
    {
        guard NonceCountTable.orderRange.contains(order) else {
            throw .invalidLayout("auth nc_array_order \(order) is not in \(NonceCountTable.orderRange)")
        }
        if let s = randomSecret, s.count != Int(CS_AUTH_SECRET_BYTES) {
            throw .invalidLayout("auth secret must be \(CS_AUTH_SECRET_BYTES) random bytes")
        }
        let size = UInt32(1) << UInt32(order)
        let memory = try addSection(
            NonceCountTable.section, size: Int(cs_auth_bytes(size)), kind: CS_SECTION_AUTH, version: CS_AUTH_VERSION)
        let table = memory.assumingMemoryBound(to: cs_auth_nonces.self)
        let expire = UInt32(clamping: nonceExpire)
        if let s = randomSecret {
            s.withUnsafeBufferPointer { cs_auth_init(table, size, $0.baseAddress, expire, nonceCount ? 1 : 0) }
        } else {
            cs_auth_init(table, size, nil, expire, nonceCount ? 1 : 0)
        }
        return NonceCountTable(table)
    }

    /// Section "auth", if the server has one (the auth module is loaded).
    public var nonceCounts: NonceCountTable? {
        section(NonceCountTable.section).map { NonceCountTable($0.assumingMemoryBound(to: cs_auth_nonces.self)) }
    }
}
