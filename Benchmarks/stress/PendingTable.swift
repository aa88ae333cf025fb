import SIP

/// The requests of a run that may still get replies, keyed by client transaction key.
///
/// A request stays here from its send until its timeout, even once answered: a later
/// final reply (a retransmitted 2xx, say) is then recognised as a duplicate rather than
/// counted as a reply that matches nothing. Since every request has the same timeout,
/// deadlines come in send order and a FIFO finds the expired ones without a scan.
/// Owned by the single thread that runs the event loop.
struct PendingTable {
    /// One request sent.
    struct Entry {
        /// The request number (rebuilds Call-ID, tag and branch for an ACK).
        let number: UInt64
        /// Monotonic nanoseconds just before `sendto`.
        let sentAt: UInt64
        /// Answered, or completed with an unexpected status: no longer outstanding.
        var completed = false
        /// A final reply has arrived (a second one is a duplicate).
        var finalSeen = false
    }

    private var entries: [TransactionKey: Entry] = [:]
    // Send order: keys and their deadlines; [head...] are live.
    private var order: [TransactionKey] = []
    private var deadlines: [UInt64] = []
    private var head = 0
    /// Requests sent and not yet completed or expired.
    private(set) var outstanding = 0

    init(expectedCapacity: Int) {
        entries.reserveCapacity(expectedCapacity)
        order.reserveCapacity(expectedCapacity)
        deadlines.reserveCapacity(expectedCapacity)
    }

    /// Records request `number`, sent at `sentAt`, that times out at `deadline`.
    mutating func insert(_ key: TransactionKey, number: UInt64, sentAt: UInt64, deadline: UInt64) {
        entries[key] = Entry(number: number, sentAt: sentAt)
        order.append(key)
        deadlines.append(deadline)
        outstanding += 1
    }

    /// Runs `body` on the entry for `key`, if any, and returns its result. An entry that
    /// `body` marks completed stops counting as outstanding.
    mutating func update<R>(_ key: TransactionKey, _ body: (inout Entry) -> R) -> R? {
        guard let index = entries.index(forKey: key) else { return nil }
        let wasCompleted = entries.values[index].completed
        let result = body(&entries.values[index])
        if !wasCompleted, entries.values[index].completed { outstanding -= 1 }
        return result
    }

    /// The earliest deadline of a request still outstanding or remembered, if any.
    var nextDeadline: UInt64? { head < deadlines.count ? deadlines[head] : nil }

    /// Drops every request whose deadline is at or before `now`; returns how many of them
    /// were still outstanding (lost).
    mutating func expire(now: UInt64) -> Int {
        var lost = 0
        while head < deadlines.count, deadlines[head] <= now {
            if let entry = entries.removeValue(forKey: order[head]), !entry.completed {
                lost += 1
                outstanding -= 1
            }
            head += 1
        }
        // Reclaim the consumed prefix now and then, so memory follows the live window.
        if head >= 4096, head * 2 >= order.count {
            order.removeFirst(head)
            deadlines.removeFirst(head)
            head = 0
        }
        return lost
    }

    /// Drops everything still remembered; returns how many were outstanding (lost).
    mutating func expireAll() -> Int {
        expire(now: UInt64.max)
    }
}
