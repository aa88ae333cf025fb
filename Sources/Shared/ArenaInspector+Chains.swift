import CShared

extension ArenaInspector {
    /// What a chain walk does after reading one item.
    enum ChainStep {
        /// Follow the item's link (0 ends the chain).
        case next(UInt64)
        /// Stop this chain; a non-nil reason becomes a problem after the item's description.
        case stop(String?)
    }

    /// Follows a chain of arena offsets (a bucket's items or transactions) from `first`.
    /// Every link must be 8-aligned and leave room for `itemSize` bytes inside the mapping,
    /// and may be visited once; `budget` (shared by all the chains of one structure)
    /// bounds the total, so a torn or corrupt arena can never make the walk run away.
    /// `visit` reads the item at an offset. Returns the problems met, and whether the
    /// budget held (false: the caller stops walking the whole structure).
    func walkChain(from first: UInt64, itemSize: Int, describe: (UInt64) -> String,
                   budget: inout Int, budgetExceeded: String, visit: (Int) -> ChainStep) -> (problems: [String], budgetHeld: Bool) {
        let lowest = MemoryLayout<cs_arena_header>.size
        var problems: [String] = []
        var visited: Set<UInt64> = []
        var link = first
        while link != 0 {
            let o = Int(clamping: link)
            guard link % 8 == 0, o >= lowest, size >= itemSize, o <= size - itemSize else {
                problems.append("\(describe(link)) lies outside the arena; walk of the bucket stopped")
                break
            }
            guard visited.insert(link).inserted else {
                problems.append("\(describe(link)) closes a cycle; walk of the bucket stopped")
                break
            }
            budget -= 1
            if budget < 0 {
                problems.append(budgetExceeded)
                return (problems, false)
            }
            switch visit(o) {
            case .next(let n): link = n
            case .stop(let why):
                if let why { problems.append(describe(link) + why) }
                link = 0
            }
        }
        return (problems, true)
    }
}
