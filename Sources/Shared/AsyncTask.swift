import CShared

/// What a task group's queue carries: the one place that knows how a task is laid out in
/// a `cs_task` (its kind and three payload words) and in the block a payload needs.
public enum AsyncTask: Equatable, Sendable {
    /// Resume a suspended transaction.
    case resume(TransactionID)
    /// Run `route` on a faked request with `$async(data)` = `data`.
    case data(route: Int, data: [UInt8])
    /// Raise the tkv event route with `$atkv(type|key|val)`.
    case tkv(type: Int, key: String, value: String)
    /// An http_async_client query for an Http Worker (the runtime's encoding).
    case http(payload: [UInt8])
    /// A message for the TCP transport (the runtime's encoding): a framed message for a
    /// tcp receiver, or bytes (or a request) for the tcp main.
    case tcp(payload: [UInt8])
    /// A name to resolve for a suspended transaction, for a DNS Worker (the runtime's encoding).
    case dns(payload: [UInt8])
    /// An sqlops statement for a task worker, whose result is dropped (the runtime's encoding).
    case sql(payload: [UInt8])

    /// cs_task.kind values.
    enum Kind: UInt32 {
        /// words: index, label.
        case resume = 1
        /// words: route, payload block offset, payload length.
        case data = 2
        /// words: type, payload block offset, payload length; the block holds the key's
        /// length (4 bytes, little endian), the key, then the value.
        case tkv = 3
        /// words: 0, payload block offset, payload length.
        case http = 4
        /// words: 0, payload block offset, payload length.
        case tcp = 5
        /// words: 0, payload block offset, payload length.
        case dns = 6
        /// words: 0, payload block offset, payload length.
        case sql = 7
    }
}

extension TaskQueueRef {
    /// What became of a push.
    public enum PushOutcome: Equatable, Sendable {
        case queued
        /// The queue is full (only when pushing without waiting): nothing was queued.
        case full
        /// The arena has no room for the task: nothing was queued.
        case noMemory
    }

    /// Queues `task` (its payload copied into the arena). With `nonblocking` a full queue
    /// answers `.full` at once; otherwise it waits for room.
    public func push(_ task: AsyncTask, arena: ArenaRef, nonblocking: Bool) -> PushOutcome {
        guard let slot = arena.newTask() else { return .noMemory }
        var block: UnsafeMutableRawPointer?
        switch task {
        case .resume(let id):
            slot.pointee.kind = AsyncTask.Kind.resume.rawValue
            slot.pointee.words.0 = UInt64(id.index)
            slot.pointee.words.1 = UInt64(id.label)
        case .data(let route, let data):
            block = Self.storePayload(data, kind: .data, first: UInt64(route), in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        case .tkv(let type, let key, let value):
            var payload: [UInt8] = []
            withUnsafeBytes(of: UInt32(key.utf8.count).littleEndian) { payload.append(contentsOf: $0) }
            payload += Array(key.utf8) + Array(value.utf8)
            block = Self.storePayload(payload, kind: .tkv, first: UInt64(bitPattern: Int64(type)), in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        case .http(let payload):
            block = Self.storePayload(payload, kind: .http, first: 0, in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        case .tcp(let payload):
            block = Self.storePayload(payload, kind: .tcp, first: 0, in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        case .dns(let payload):
            block = Self.storePayload(payload, kind: .dns, first: 0, in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        case .sql(let payload):
            block = Self.storePayload(payload, kind: .sql, first: 0, in: slot, arena: arena)
            if block == nil { arena.freeTask(slot); return .noMemory }
        }
        guard push(slot, nonblocking: nonblocking) == .queued else {
            arena.free(block)
            arena.freeTask(slot)
            return .full
        }
        return .queued
    }

    /// What `take` found.
    public enum Taken: Equatable, Sendable {
        case task(AsyncTask)
        /// Nothing arrived in time (or a signal woke the caller).
        case nothing
        /// A task this codec cannot read (its memory is freed).
        case malformed(kind: UInt32)
    }

    /// The oldest task, decoded, its memory back to the arena; sleeps while the queue is
    /// empty for at most `timeoutNanoseconds` (negative: no limit).
    public func take(arena: ArenaRef, timeoutNanoseconds: Int64) -> Taken {
        guard let slot = take(timeoutNanoseconds: timeoutNanoseconds) else { return .nothing }
        return decode(slot, arena: arena)
    }

    /// The oldest task, decoded, or `.nothing` at once when the queue is empty.
    public func tryTake(arena: ArenaRef) -> Taken {
        guard let slot = tryTake() else { return .nothing }
        return decode(slot, arena: arena)
    }

    private func decode(_ slot: UnsafeMutablePointer<cs_task>, arena: ArenaRef) -> Taken {
        defer { arena.freeTask(slot) }
        let words = slot.pointee.words
        switch AsyncTask.Kind(rawValue: slot.pointee.kind) {
        case .resume?:
            return .task(.resume(TransactionID(index: UInt32(truncatingIfNeeded: words.0),
                                               label: UInt32(truncatingIfNeeded: words.1))))
        case .data?:
            guard let data = Self.takePayload(slot, arena: arena) else { return .malformed(kind: slot.pointee.kind) }
            return .task(.data(route: Int(truncatingIfNeeded: words.0), data: data))
        case .tkv?:
            guard let block = Self.takePayload(slot, arena: arena), block.count >= 4 else {
                return .malformed(kind: slot.pointee.kind)
            }
            let keyLength = Int(UInt32(littleEndian: block.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
            guard keyLength <= block.count - 4 else { return .malformed(kind: slot.pointee.kind) }
            return .task(.tkv(type: Int(Int64(bitPattern: words.0)),
                              key: String(decoding: block[4..<(4 + keyLength)], as: UTF8.self),
                              value: String(decoding: block[(4 + keyLength)...], as: UTF8.self)))
        case .http?:
            guard let payload = Self.takePayload(slot, arena: arena) else { return .malformed(kind: slot.pointee.kind) }
            return .task(.http(payload: payload))
        case .tcp?:
            guard let payload = Self.takePayload(slot, arena: arena) else { return .malformed(kind: slot.pointee.kind) }
            return .task(.tcp(payload: payload))
        case .dns?:
            guard let payload = Self.takePayload(slot, arena: arena) else { return .malformed(kind: slot.pointee.kind) }
            return .task(.dns(payload: payload))
        case .sql?:
            guard let payload = Self.takePayload(slot, arena: arena) else { return .malformed(kind: slot.pointee.kind) }
            return .task(.sql(payload: payload))
        case nil:
            return .malformed(kind: slot.pointee.kind)
        }
    }

    /// Copies `payload` into a block of its own and records it in the task's words.
    private static func storePayload(_ payload: [UInt8], kind: AsyncTask.Kind, first: UInt64,
                                     in slot: UnsafeMutablePointer<cs_task>, arena: ArenaRef) -> UnsafeMutableRawPointer? {
        guard let block = arena.allocate(max(payload.count, 1)) else { return nil }
        payload.withUnsafeBytes { if let b = $0.baseAddress { block.copyMemory(from: b, byteCount: $0.count) } }
        slot.pointee.kind = kind.rawValue
        slot.pointee.words.0 = first
        slot.pointee.words.1 = arena.offset(of: block)
        slot.pointee.words.2 = UInt64(payload.count)
        return block
    }

    /// The task's payload block, copied out and freed; nil when its words are not a block.
    private static func takePayload(_ slot: UnsafeMutablePointer<cs_task>, arena: ArenaRef) -> [UInt8]? {
        let offset = Int(truncatingIfNeeded: slot.pointee.words.1), length = Int(truncatingIfNeeded: slot.pointee.words.2)
        guard offset > 0, length >= 0, offset <= arena.size - length else { return nil }
        let pointer = arena.base + offset
        let bytes = Array(UnsafeRawBufferPointer(start: pointer, count: length))
        arena.free(pointer)
        return bytes
    }
}
