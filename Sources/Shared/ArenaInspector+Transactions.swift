import CShared

/// The transaction table and the timing wheels, read without locks from a (read-only)
/// mapping.
///
/// Every offset and length is checked against the mapping before it is followed; bucket
/// and slot walks are bounded by what the arena can hold and detect cycles. Whatever
/// does not check out becomes a problem in the report and that walk stops; `report()`
/// reads each structure again while that happens (`settled`).
extension ArenaInspector {
    static let txFlagWords: [(UInt32, String)] = [
        (UInt32(CS_TX_INVITE), "invite"), (UInt32(CS_TX_SUSPENDED), "suspended"), (UInt32(CS_TX_REPLIED), "replied"),
        (UInt32(CS_TX_CANCELED), "canceled"), (UInt32(CS_TX_TIMED_OUT), "timed-out"),
        (UInt32(CS_TX_UNLINKED), "unlinked"), (UInt32(CS_TX_ACKED), "acked"), (UInt32(CS_TX_RELAYED), "relayed"),
    ]
    static let branchFlagWords: [(UInt32, String)] = [
        (UInt32(CS_BR_USED), "used"), (UInt32(CS_BR_PROVISIONAL), "provisional"), (UInt32(CS_BR_FINAL), "final"),
        (UInt32(CS_BR_CANCELED), "canceled"),
    ]

    static func words(_ flags: UInt32, _ table: [(UInt32, String)]) -> [String] {
        var out = table.filter { flags & $0.0 != 0 }.map(\.1)
        let known = table.reduce(UInt32(0)) { $0 | $1.0 }
        if flags & ~known != 0 { out.append("0x" + String(flags & ~known, radix: 16)) }
        return out
    }

    func readTransactions(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Transactions? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let t = load(cs_tx_table.self, at: s.offset, in: bounds) else {
            problems.append("transaction table header out of bounds")
            return nil
        }
        var out = ArenaReport.Transactions(
            buckets: t.bucket_count, live: t.live, created: t.created, destroyed: t.destroyed, suspended: t.suspended,
            staleLookups: t.stale_lookups, failedCreates: t.failed_creates, walked: 0, byState: .init(),
            bucketLockHolders: [], shown: [])
        let bucketStride = MemoryLayout<cs_tx_bucket>.stride
        let headerSize = MemoryLayout<cs_tx_table>.size
        guard t.bucket_count > 0, t.bucket_count & (t.bucket_count - 1) == 0,
              (s.size - headerSize) / bucketStride >= Int(t.bucket_count) else {
            problems.append("transaction table: \(t.bucket_count) buckets do not fit its \(s.size)-byte section")
            return out
        }
        let txSize = MemoryLayout<cs_tx>.size
        var budget = size / txSize + 1
        var holders: Set<Int32> = []
        var tiers: [[ArenaReport.Transaction]] = [[], [], []]
        let now = cs_now_ms()
        buckets: for b in 0..<Int(t.bucket_count) {
            guard let bucket = load(cs_tx_bucket.self, at: s.offset + headerSize + b * bucketStride, in: bounds) else { continue }
            if bucket.lock.holder_pid != 0 { holders.insert(bucket.lock.holder_pid) }
            var warnings: [String] = []
            let walk = walkChain(from: bucket.first, itemSize: txSize,
                                 describe: { "transaction bucket \(b): transaction at offset \($0)" }, budget: &budget,
                                 budgetExceeded: "transaction table: more transactions than the arena can hold (a cycle?); walk stopped") { o in
                let tx = base.loadUnaligned(fromByteOffset: o, as: cs_tx.self)
                guard UInt64(tx.key_len) + UInt64(tx.request_len) <= UInt64(size - o - txSize) else {
                    return .stop(": key and request lengths (\(tx.key_len)+\(tx.request_len)) run past the arena; walk of the bucket stopped")
                }
                if Int(tx.index) != b { warnings.append("transaction bucket \(b): transaction at offset \(o): claims bucket \(tx.index)") }
                out.walked += 1
                if tx.flags & UInt32(CS_TX_SUSPENDED) != 0 { out.byState.suspended += 1 }
                if tx.flags & UInt32(CS_TX_REPLIED) != 0 { out.byState.replied += 1 }
                if tx.flags & UInt32(CS_TX_RELAYED) != 0 { out.byState.relayed += 1 }
                if tx.flags & UInt32(CS_TX_CANCELED) != 0 { out.byState.canceled += 1 }
                if tx.flags & UInt32(CS_TX_TIMED_OUT) != 0 { out.byState.timedOut += 1 }
                // What people look for comes first: suspended transactions, then those
                // with anything going on (replied, relayed, ...), then fresh ones.
                let tier = tx.flags & UInt32(CS_TX_SUSPENDED) != 0 ? 0 : (tx.flags & ~UInt32(CS_TX_INVITE) != 0 ? 1 : 2)
                if tiers[tier].count < maxTransactions { tiers[tier].append(transaction(tx, at: o, now: now, &warnings)) }
                return .next(tx.next)
            }
            problems += warnings + walk.problems
            if !walk.budgetHeld { break buckets }
        }
        out.bucketLockHolders = holders.sorted()
        out.shown = Array(tiers.joined().prefix(maxTransactions))
        // Transactions come and go under the walk: its counts hold for a still table only.
        out.approximate = load(cs_tx_table.self, at: s.offset, in: bounds).map {
            $0.created != t.created || $0.destroyed != t.destroyed || $0.suspended != t.suspended
        } ?? true
        return out
    }

    /// A transaction whose key and request lengths were checked against the mapping.
    private func transaction(_ tx: cs_tx, at o: Int, now: UInt64, _ problems: inout [String]) -> ArenaReport.Transaction {
        let name = "transaction \(tx.index):\(tx.label)"
        let request = o + MemoryLayout<cs_tx>.size + Int(tx.key_len)
        let length = Int(tx.request_len)
        func text(_ start: Int, _ count: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(start: base + request + start, count: min(count, maxStringBytes)), as: UTF8.self)
        }
        var method = "", callID = ""
        if Int(tx.method_len) <= length { method = text(0, Int(tx.method_len)) } else {
            problems.append("\(name): method length \(tx.method_len) runs past its \(length)-byte request")
        }
        if UInt64(tx.callid_off) + UInt64(tx.callid_len) <= UInt64(length) {
            callID = text(Int(tx.callid_off), Int(tx.callid_len))
        } else {
            problems.append("\(name): Call-ID at \(tx.callid_off) (+\(tx.callid_len)) runs past its \(length)-byte request")
        }
        var branches: [ArenaReport.Branch] = []
        if tx.branch_count > UInt32(CS_TX_MAX_BRANCHES) {
            problems.append("\(name): \(tx.branch_count) branches (at most \(CS_TX_MAX_BRANCHES))")
        }
        withUnsafeBytes(of: tx.branches) { raw in
            for i in 0..<min(Int(tx.branch_count), Int(CS_TX_MAX_BRANCHES)) {
                let br = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<cs_tx_branch>.stride, as: cs_tx_branch.self)
                branches.append(.init(
                    destination: SIPPeer(br.dest)?.description ?? "(damaged address)",
                    lastStatus: br.last_status, flags: Self.words(UInt32(br.flags), Self.branchFlagWords),
                    retransmits: br.retransmits, branchFailureRoute: br.on_branch_failure >= 0 ? br.on_branch_failure : nil))
            }
        }
        var resume: ArenaReport.Resume?
        if tx.flags & UInt32(CS_TX_SUSPENDED) != 0 {
            let kinds = [UInt32(CS_RESUME_NONE): "none", UInt32(CS_RESUME_ROUTE): "route", UInt32(CS_RESUME_ACTION): "action"]
            resume = .init(kind: kinds[tx.resume_kind] ?? "unknown(\(tx.resume_kind))", route: tx.resume_route,
                           block: tx.resume_block, action: tx.resume_action, group: tx.resume_group,
                           dueInMs: tx.resume_due_ms == 0 ? nil : Self.delta(tx.resume_due_ms, now))
        }
        return ArenaReport.Transaction(
            index: tx.index, label: tx.label, method: method, callID: callID,
            source: SIPPeer(tx.src)?.description ?? "(damaged address)",
            flags: Self.words(tx.flags, Self.txFlagWords), uasStatus: tx.uas_status,
            ageMs: Self.delta(now, tx.created_ms), refcount: tx.refcount, requestBytes: tx.request_len,
            branches: branches, resume: resume, lockHolderPID: tx.lock.holder_pid == 0 ? nil : tx.lock.holder_pid,
            armedRoutes: [("t_on_failure", tx.on_failure), ("t_on_reply", tx.on_reply), ("t_on_branch", tx.on_branch),
                          ("t_on_branch_failure", tx.on_branch_failure)].reduce(into: [:]) { if $1.1 >= 0 { $0[$1.0] = $1.1 } })
    }

    /// `a - b` in milliseconds, saturating (a garbage time never traps).
    static func delta(_ a: UInt64, _ b: UInt64) -> Int64 {
        a >= b ? Int64(clamping: a - b) : -Int64(clamping: b - a)
    }

    func readWheel(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Wheel? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let w = load(cs_timer_wheel.self, at: s.offset, in: bounds) else {
            problems.append("timer wheel section '\(s.public.name)' out of bounds")
            return nil
        }
        let name = cString(w.name)
        var out = ArenaReport.Wheel(
            name: name, tickMs: w.tick_ms, slots: w.slot_count, armed: w.armed, armedTotal: w.armed_total,
            firedTotal: w.fired_total, nextDueInMs: nil, lockHolderPID: w.lock.holder_pid == 0 ? nil : w.lock.holder_pid)
        let slots = Int(w.slot_count)
        guard slots > 0, slots & (slots - 1) == 0, w.tick_ms > 0,
              UInt64(s.size) >= cs_wheel_bytes(w.slot_count) else {
            problems.append("timer wheel '\(name)': \(w.slot_count) slots of \(w.tick_ms) ms do not fit its \(s.size)-byte section")
            return out
        }
        let linkSize = MemoryLayout<cs_timer_link>.size
        let headsAt = s.offset + MemoryLayout<cs_timer_wheel>.size
        let lowest = MemoryLayout<cs_arena_header>.size
        var budget = size / linkSize + 1
        var earliest: UInt64 = 0
        var walked: UInt64 = 0
        let now = cs_now_ms()
        let granularity = UInt64(w.tick_ms >= 10 ? 1000 : 10 * w.tick_ms)
        var groups: [UInt64: Int] = [:]
        slots: for slot in 0..<slots {
            var link = base.loadUnaligned(fromByteOffset: headsAt + slot * 8, as: UInt64.self)
            while link != 0 {
                let o = Int(clamping: link)
                guard link % 8 == 0, o >= lowest, o <= size - linkSize else {
                    problems.append("timer wheel '\(name)' slot \(slot): link at offset \(link) lies outside the arena; walk of the slot stopped")
                    break
                }
                budget -= 1
                if budget < 0 {
                    problems.append("timer wheel '\(name)': more links than the arena can hold (a cycle?); walk stopped")
                    break slots
                }
                let l = base.loadUnaligned(fromByteOffset: o, as: cs_timer_link.self)
                guard l.slot == UInt32(slot + 1) else {
                    problems.append("timer wheel '\(name)' slot \(slot): link at offset \(link) claims slot \(Int(l.slot) - 1); walk of the slot stopped")
                    break
                }
                walked += 1
                if earliest == 0 || l.due_ms < earliest { earliest = l.due_ms }
                groups[l.due_ms / granularity, default: 0] += 1
                link = l.next
            }
        }
        out.walked = walked
        // A wheel that stood still (same counters before and after the walk, no live
        // process inside its lock) must hold exactly `armed` links; a moving one is only
        // approximately what the walk found. A holder that died left it half-changed.
        let holder = w.lock.holder_pid
        let unchanged = load(cs_timer_wheel.self, at: s.offset, in: bounds).map {
            $0.armed == w.armed && $0.armed_total == w.armed_total && $0.fired_total == w.fired_total
                && $0.lock.holder_pid == holder
        } ?? false
        let still = unchanged && (holder == 0 || !Posix.processExists(holder))
        out.approximate = !still
        if still && walked != w.armed {
            problems.append("timer wheel '\(name)': \(w.armed) links armed, \(walked) found on a wheel that did not move")
        }
        if earliest != 0 { out.nextDueInMs = Self.delta(earliest, now) }
        out.pending = groups.keys.sorted().prefix(12).map {
            ArenaReport.PendingGroup(dueInMs: Self.delta($0 * granularity, now), count: groups[$0]!)
        }
        return out
    }
}
