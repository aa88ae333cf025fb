import CShared

extension ArenaReport {
    /// Section "auth": the auth module's nonce counters and nc array. The secret itself
    /// is never reported, only where it comes from.
    public struct Auth: Codable, Sendable {
        /// nc slots (nc_array_size).
        public var slots: UInt32
        /// Slots holding an nc now (nonces answered with qop at least once).
        public var slotsUsed: UInt64
        /// "random" (drawn by the master at start) or "configured" (the `secret` modparam).
        public var secret: String
        public var nonceExpireSeconds: UInt32
        public var nonceCount: Bool
        public var nonceIdNext: UInt64
        public var issued: UInt64
        public var accepted: UInt64
        public var replays: UInt64
        public var lost: UInt64
    }
}

extension ArenaInspector {
    /// Section "auth": the header copied, the nc bytes counted within the section.
    func readAuth(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Auth? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let t = load(cs_auth_nonces.self, at: s.offset, in: bounds) else {
            problems.append("auth section out of bounds")
            return nil
        }
        let headerBytes = MemoryLayout<cs_auth_nonces>.size
        guard t.size > 0, t.size & (t.size - 1) == 0, Int(t.size) <= s.size - headerBytes,
            s.offset + s.size <= size
        else {
            problems.append("auth: \(t.size) nc slots do not fit the section of \(s.size) bytes")
            return nil
        }
        let nc = UnsafeRawBufferPointer(start: base + s.offset + headerBytes, count: Int(t.size))
        let used = nc.reduce(UInt64(0)) { $0 + ($1 != 0 ? 1 : 0) }
        return ArenaReport.Auth(
            slots: t.size, slotsUsed: used,
            secret: t.secret_source == UInt32(CS_AUTH_SECRET_RANDOM) ? "random" : "configured",
            nonceExpireSeconds: t.nonce_expire, nonceCount: t.nc_enabled != 0, nonceIdNext: t.next_id,
            issued: t.issued, accepted: t.accepted, replays: t.replays, lost: t.lost)
    }
}
