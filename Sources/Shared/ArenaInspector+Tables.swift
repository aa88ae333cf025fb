import CShared

/// Shared variables and hash tables, read without locks from a (read-only) mapping.
///
/// Every offset and length is checked against the mapping before it is followed; chain
/// walks are bounded and detect cycles. Whatever does not check out becomes a problem
/// in the report and the walk of that part stops.
extension ArenaInspector {
    func readSharedVariables(_ s: RawSection, _ problems: inout [String]) -> [ArenaReport.SharedVariable]? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let table = load(cs_shv_table.self, at: s.offset, in: bounds) else {
            problems.append("shared variable table header out of bounds")
            return nil
        }
        let stride = MemoryLayout<cs_shv_entry>.stride
        let fits = (s.size - MemoryLayout<cs_shv_table>.size) / stride
        let count = min(Int(table.count), Int(table.capacity), fits)
        if Int(table.count) > count {
            problems.append("shared variable table claims \(table.count) slots; \(count) fit")
        }
        return (0..<count).compactMap { i -> ArenaReport.SharedVariable? in
            let at = s.offset + MemoryLayout<cs_shv_table>.size + i * stride
            guard let e = load(cs_shv_entry.self, at: at, in: bounds) else { return nil }
            let name = cString(e.name)
            var v = ArenaReport.SharedVariable(name: name, type: "null")
            switch e.type {
            case UInt32(CS_VALUE_NULL.rawValue): break
            case UInt32(CS_VALUE_INT.rawValue):
                v.type = "int"
                v.int = e.int_value
            case UInt32(CS_VALUE_STRING.rawValue):
                v.type = "string"
                if e.str_len == 0 {
                    v.string = ""
                } else if let text = string(at: e.str_offset, length: UInt64(e.str_len)) {
                    v.string = text.0
                    if text.1 { v.truncated = true }
                } else {
                    problems.append("shared variable '\(name)': string at offset \(e.str_offset) (+\(e.str_len)) lies outside the arena")
                }
            default:
                v.type = "unknown(\(e.type))"
                problems.append("shared variable '\(name)': unknown value type \(e.type)")
            }
            return v
        }
    }

    func readHashTables(_ s: RawSection, _ problems: inout [String]) -> [ArenaReport.HashTable]? {
        let bounds = s.offset..<(s.offset + s.size)
        guard let dir = load(cs_htable_dir.self, at: s.offset, in: bounds) else {
            problems.append("hash table directory out of bounds")
            return nil
        }
        let stride = MemoryLayout<cs_htable>.stride
        let fits = (s.size - MemoryLayout<cs_htable_dir>.size) / stride
        let count = min(Int(dir.count), Int(dir.capacity), fits)
        if Int(dir.count) > count { problems.append("hash table directory claims \(dir.count) tables; \(count) fit") }
        return (0..<count).compactMap { i -> ArenaReport.HashTable? in
            let at = s.offset + MemoryLayout<cs_htable_dir>.size + i * stride
            guard let t = load(cs_htable.self, at: at, in: bounds) else { return nil }
            var table = readHashTable(t, section: bounds, &problems)
            // Items come and go under the walk: its count holds for a still table only.
            table.approximate = load(cs_htable.self, at: at, in: bounds).map { $0.items != t.items } ?? true
            return table
        }
    }

    private func readHashTable(_ t: cs_htable, section: Range<Int>, _ problems: inout [String]) -> ArenaReport.HashTable {
        let name = cString(t.name)
        var out = ArenaReport.HashTable(
            name: name, sizeLog2: t.size_log2, buckets: t.bucket_count, items: t.items, itemsWalked: 0,
            autoexpireSeconds: t.autoexpire, initval: t.has_initval != 0 ? t.initval : nil, lockHolders: [], shown: [])
        guard (CS_HTABLE_SIZE_MIN...CS_HTABLE_SIZE_MAX).contains(t.size_log2), t.bucket_count == 1 << t.size_log2 else {
            problems.append("hash table '\(name)': size 2^\(t.size_log2) with \(t.bucket_count) buckets is inconsistent")
            return out
        }
        let bucketStride = MemoryLayout<cs_htable_bucket>.stride
        let arrayStart = Int(clamping: t.buckets_offset)
        let arrayBytes = Int(t.bucket_count) * bucketStride
        guard arrayStart >= section.lowerBound, arrayStart <= section.upperBound,
              section.upperBound - arrayStart >= arrayBytes else {
            problems.append("hash table '\(name)': bucket array at offset \(t.buckets_offset) lies outside its section")
            return out
        }
        let itemSize = MemoryLayout<cs_htable_item>.size
        // Each item takes more than its 40-byte header, so this bounds the whole walk.
        var budget = size / itemSize + 1
        var holders: Set<Int32> = []
        let now = cs_htable_now_ms()
        buckets: for b in 0..<Int(t.bucket_count) {
            guard let bucket = load(cs_htable_bucket.self, at: arrayStart + b * bucketStride, in: section) else { continue }
            if bucket.lock.holder_pid != 0 { holders.insert(bucket.lock.holder_pid) }
            var warnings: [String] = []
            let walk = walkChain(from: bucket.first, itemSize: itemSize,
                                 describe: { "hash table '\(name)' bucket \(b): item at offset \($0)" }, budget: &budget,
                                 budgetExceeded: "hash table '\(name)': more items than the arena can hold (a cycle?); walk stopped") { o in
                let it = base.loadUnaligned(fromByteOffset: o, as: cs_htable_item.self)
                guard UInt64(it.key_len) + UInt64(it.str_len) <= UInt64(size - o - itemSize) else {
                    return .stop(": key and value lengths (\(it.key_len)+\(it.str_len)) run past the arena; walk of the bucket stopped")
                }
                guard it.type == UInt32(CS_VALUE_INT.rawValue) || it.type == UInt32(CS_VALUE_STRING.rawValue) else {
                    return .stop(": unknown value type \(it.type); walk of the bucket stopped")
                }
                if Int(it.hash) & (Int(t.bucket_count) - 1) != b {
                    warnings.append("hash table '\(name)' bucket \(b): item at offset \(o): hash \(it.hash) belongs to another bucket")
                }
                out.itemsWalked += 1
                if out.shown.count < maxItemsPerTable { out.shown.append(hashItem(it, at: o, now: now)) }
                return .next(it.next)
            }
            problems += warnings + walk.problems
            if !walk.budgetHeld { break buckets }
        }
        out.lockHolders = holders.sorted()
        return out
    }

    /// An item whose lengths were checked against the mapping.
    private func hashItem(_ it: cs_htable_item, at o: Int, now: UInt64) -> ArenaReport.HashItem {
        let keyStart = o + MemoryLayout<cs_htable_item>.size
        let keyBytes = min(Int(it.key_len), maxStringBytes)
        var item = ArenaReport.HashItem(
            key: String(decoding: UnsafeRawBufferPointer(start: base + keyStart, count: keyBytes), as: UTF8.self),
            type: "int")
        if it.type == UInt32(CS_VALUE_STRING.rawValue) {
            item.type = "string"
            let shown = min(Int(it.str_len), maxStringBytes)
            item.string = String(decoding: UnsafeRawBufferPointer(start: base + keyStart + Int(it.key_len), count: shown), as: UTF8.self)
            if shown < Int(it.str_len) { item.truncated = true }
        } else {
            item.int = it.int_value
        }
        if keyBytes < Int(it.key_len) { item.truncated = true }
        if it.expires_ms != 0 { item.expiresInSeconds = (Double(it.expires_ms) - Double(now)) / 1000 }
        return item
    }

    /// Up to `maxStringBytes` of the bytes at [offset, offset + length) and whether they
    /// were cut; nil when the range leaves the mapping.
    private func string(at offset: UInt64, length: UInt64) -> (String, Bool)? {
        guard offset >= UInt64(MemoryLayout<cs_arena_header>.size), offset <= UInt64(size),
              length <= UInt64(size) - offset else { return nil }
        let shown = min(Int(length), maxStringBytes)
        let text = String(decoding: UnsafeRawBufferPointer(start: base + Int(offset), count: shown), as: UTF8.self)
        return (text, shown < Int(length))
    }
}
