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
        guard let (table, rows, rowAt) = headerAndRows(s, cs_txhold_table.self, cs_txhold_row.self,
                                                       what: "transaction holds", claimed: { Int($0.rows) }, &problems)
        else { return nil }
        var held: [ArenaReport.HeldByProcess] = []
        for slot in 0..<rows {
            guard let row = rowAt(slot) else { continue }
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

extension ArenaInspector {
    /// A section laid out as a header and then an array of rows (txholds, httpq): the
    /// header, how many rows to read (what the header claims, bounded by what fits; a larger
    /// claim is a problem) and a reader of row `i`. nil (a problem) when the header is
    /// out of bounds.
    func headerAndRows<Header, Row>(
        _ s: RawSection, _ header: Header.Type, _ row: Row.Type, what: String,
        claimed: (Header) -> Int, _ problems: inout [String]
    ) -> (header: Header, count: Int, row: (Int) -> Row?)? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let h = load(Header.self, at: s.offset, in: bounds) else {
            problems.append("\(what) header out of bounds")
            return nil
        }
        let stride = MemoryLayout<Row>.stride, first = s.offset + MemoryLayout<Header>.size
        let fits = max(0, (s.size - MemoryLayout<Header>.size) / stride)
        let count = min(claimed(h), fits)
        if claimed(h) > count { problems.append("\(what) claims \(claimed(h)) rows; \(count) fit") }
        return (h, count, { i in self.load(Row.self, at: first + i * stride, in: bounds) })
    }
}
