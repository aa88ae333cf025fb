import CShared

extension ArenaReport {
    /// Section "txholds": the transaction references each process holds now.
    public struct Holds: Codable, Sendable {
        public var rows: UInt32
        /// Entries the master has settled after a death, ever.
        public var settled: UInt64
        /// Rows with anything held, by process-table slot.
        public var held: [HeldByProcess]
    }

    public struct HeldByProcess: Codable, Sendable {
        public var slot: Int
        /// Offsets of the transactions whose references it holds.
        public var transactions: [UInt64]
        /// Timers it has taken off its wheel and not fired yet.
        public var takenTimers: Int
        /// References it took while every entry was in use (not recorded).
        public var overflow: UInt64
    }
}

extension ArenaInspector {
    func readHolds(_ s: RawSection, _ problems: inout [String]) -> ArenaReport.Holds? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let table = load(cs_txhold_table.self, at: s.offset, in: bounds) else {
            problems.append("transaction holds header out of bounds")
            return nil
        }
        let stride = MemoryLayout<cs_txhold_row>.stride
        let fits = (s.size - MemoryLayout<cs_txhold_table>.size) / stride
        let rows = min(Int(table.rows), fits)
        if Int(table.rows) > rows { problems.append("transaction holds claim \(table.rows) rows; \(rows) fit") }
        var held: [ArenaReport.HeldByProcess] = []
        for slot in 0..<rows {
            guard let row = load(cs_txhold_row.self, at: s.offset + MemoryLayout<cs_txhold_table>.size + slot * stride,
                                 in: bounds) else { continue }
            let entries = withUnsafeBytes(of: row.entries) { Array($0.bindMemory(to: UInt64.self)) }
            let transactions = entries.filter { $0 & 1 == 1 }.map { $0 & ~1 }
            let taken = entries.filter { $0 != 0 && $0 & 1 == 0 }.count
            // An entry is an offset into the arena; one outside it is damage, not a change
            // in flight.
            for offset in transactions where offset >= UInt64(size) {
                problems.append("transaction holds: slot \(slot) names offset \(offset), outside the arena")
            }
            guard !transactions.isEmpty || taken > 0 || row.overflow > 0 else { continue }
            held.append(.init(slot: slot, transactions: transactions, takenTimers: taken, overflow: row.overflow))
        }
        return ArenaReport.Holds(rows: table.rows, settled: table.settled, held: held)
    }
}
