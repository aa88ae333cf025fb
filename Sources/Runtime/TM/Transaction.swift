import CShared
import SIP
import Shared

/// A view of one transaction in the arena (see cs_tx.h). The caller owns a reference
/// while it holds a `Tx` it looked up, and holds the transaction's lock while it reads
/// or changes anything but the identity.
struct Tx: Equatable {
    let raw: UnsafeMutablePointer<cs_tx>

    var index: UInt32 { raw.pointee.index }
    var label: UInt32 { raw.pointee.label }
    var isInvite: Bool { has(CS_TX_INVITE) }

    func has(_ flag: Int) -> Bool { raw.pointee.flags & UInt32(flag) != 0 }
    func set(_ flag: Int) { raw.pointee.flags |= UInt32(flag) }
    func clear(_ flag: Int) { raw.pointee.flags &= ~UInt32(flag) }

    /// The request as received (a copy out of the arena).
    var request: [UInt8] {
        Array(UnsafeBufferPointer(start: cs_tx_request(raw), count: Int(raw.pointee.request_len)))
    }

    var source: SocketAddress { SocketAddress(ip: raw.pointee.src_ip, port: raw.pointee.src_port) }

    /// Takes the reply lock (recursive).
    func lock() { _ = cs_tx_lock(raw) }
    func unlock() { cs_tx_unlock(raw) }

    func withLock<T>(_ body: () -> T) -> T {
        lock()
        defer { unlock() }
        return body()
    }

    /// Copies `bytes` into one of the transaction's buffers (lock held). False when the
    /// arena is full: the old buffer stays.
    @discardableResult
    static func store(_ arena: ArenaRef, _ off: UnsafeMutablePointer<UInt64>, _ len: UnsafeMutablePointer<UInt32>,
                      _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { cs_tx_store(arena.header, off, len, $0.baseAddress, UInt32($0.count)) == 0 }
    }

    /// The bytes of a stored buffer (empty when none).
    static func load(_ arena: ArenaRef, _ off: UInt64, _ len: UInt32) -> [UInt8] {
        guard off != 0, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: arena.base + Int(off), count: Int(len)))
    }

    /// The script state saved with the transaction (lock held).
    func loadState(_ arena: ArenaRef) -> ScriptState? {
        let off = raw.pointee.state_off, len = raw.pointee.state_len
        guard off != 0, len > 0 else { return nil }
        return ScriptState(decoding: UnsafeRawBufferPointer(start: arena.base + Int(off), count: Int(len)))
    }

    func saveState(_ arena: ArenaRef, _ state: ScriptState) -> Bool {
        Tx.store(arena, &raw.pointee.state_off, &raw.pointee.state_len, state.encoded())
    }

    var lastReply: (off: UInt64, len: UInt32) { (raw.pointee.reply_off, raw.pointee.reply_len) }

    func branch(_ i: Int) -> UnsafeMutablePointer<cs_tx_branch> {
        withUnsafeMutablePointer(to: &raw.pointee.branches) {
            UnsafeMutableRawPointer($0).assumingMemoryBound(to: cs_tx_branch.self) + i
        }
    }

    /// The branch parameter Respite puts in the Via of a request it relays: it names the
    /// transaction and branch, so a reply finds them without a search.
    func branchID(_ b: Int) -> String {
        "z9hG4bKrsp\(String(index, radix: 16)).\(String(label, radix: 16)).\(b)"
    }

    /// (index, label, branch) from a branch parameter written by `branchID`.
    static func parseBranchID(_ s: String) -> (index: UInt32, label: UInt32, branch: Int)? {
        guard s.hasPrefix("z9hG4bKrsp") else { return nil }
        let parts = s.dropFirst(10).split(separator: ".")
        guard parts.count == 3, let i = UInt32(parts[0], radix: 16), let l = UInt32(parts[1], radix: 16),
              let b = Int(parts[2]), (0..<Int(CS_TX_MAX_BRANCHES)).contains(b) else { return nil }
        return (i, l, b)
    }
}
