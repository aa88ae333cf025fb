import Foundation
import Shared

/// Turns an arena report into text for people or JSON for tools.
enum ReportFormatter {
    static func json(_ report: ArenaReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func text(_ r: ArenaReport) -> String {
        var out: [String] = []
        let h = r.header
        out.append("arena \(h.name)  \(bytes(h.size))  layout v\(h.layoutVersion)  base \(h.baseAddress)")
        let started = h.creatorStartTicks.map { "  started at tick \($0) after boot" } ?? "  start time not recorded"
        out.append("  creator pid \(h.creatorPID) (\(h.creatorStatus))\(started)  created \(date(h.createdUnixSeconds))  \(h.ready ? "ready" : "initializing")\(h.debugAllocator ? "  debug allocator" : "")")
        out.append("")
        out.append("sections")
        for s in r.sections {
            out.append("  \(pad(s.name, 14)) \(pad(s.kind, 14)) offset \(pad(String(s.offset), 10)) \(bytes(s.size))")
        }
        if let a = r.allocator {
            out.append("")
            out.append("allocator")
            let t = a.approximate ? "~" : ""
            out.append("  used \(t)\(bytes(a.usedBytes)) of \(bytes(a.heapBytes)) (\(percent(a.usedBytes, a.heapBytes)))  peak \(bytes(a.peakUsedBytes))  free \(bytes(a.freeBytes))")
            out.append("  live allocations \(t)\(a.liveAllocations)  allocs \(a.totalAllocations)  frees \(a.totalFrees)  failed \(a.failedAllocations)")
            let held = a.usedBytes &- a.binnedBytes &- a.cachedBytes
            out.append("  held by the server: \(bytes(held)) (used less what sits freed in bins and caches)")
            out.append("  small-block bins: \(a.binnedBlocks) freed blocks (\(bytes(a.binnedBytes))) ready for reuse, \(a.cachedBlocks) (\(bytes(a.cachedBytes))) in process caches (both counted as used)")
            out.append("  fragments \(a.fragments)  largest free block \(bytes(a.largestFreeBlock))  blocks \(a.blocks)  fence errors \(a.fenceErrors)")
            out.append("  lock holder \(a.lockHolderPID == 0 ? "none" : String(a.lockHolderPID))  recoveries \(a.lockRecoveries)")
            if let e = a.walkError { out.append("  WALK STOPPED: \(e)") }
        }
        if let procs = r.processes {
            out.append("")
            out.append("processes (\(procs.count))")
            out.append("  slot  pid      state     description                                 counters")
            for p in procs {
                let counters = p.counters.filter { $0.value != 0 }.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                let state = p.state == "running" && !p.alive ? "dead" : p.state
                out.append("  \(pad(String(p.slot), 5)) \(pad(String(p.pid), 8)) \(pad(state, 9)) \(pad(p.description, 43)) \(counters)\(p.restarts > 0 ? " restarts=\(p.restarts)" : "")")
            }
        }
        if let queues = r.queues {
            out.append("")
            out.append("task queues (\(queues.count))")
            for q in queues {
                out.append("  \(pad(q.name, 16)) workers \(q.workers)  depth \(q.approximate ? "~" : "")\(q.depth)/\(q.maxDepth)  pushed \(q.pushed)  taken \(q.taken)  refused \(q.refused)  waited-full \(q.waitedFull)  sleeping \(q.sleepingConsumers)\(q.oldestWaitingMs.map { String(format: "  oldest waiting %.1f ms", $0) } ?? "")\(q.nonblocking ? "  nonblock" : "")\(q.usleepMicroseconds > 0 ? "  usleep \(q.usleepMicroseconds)" : "")")
            }
        }
        if let vars = r.sharedVariables {
            out.append("")
            out.append("shared variables (\(vars.count))")
            for v in vars {
                out.append("  $shv(\(v.name)) = \(value(v.type, v.int, v.string, v.truncated))")
            }
        }
        if let tables = r.hashTables {
            out.append("")
            out.append("hash tables (\(tables.count))")
            for t in tables {
                let expire = t.autoexpireSeconds == 0 ? "never" : "\(t.autoexpireSeconds) s"
                let initval = t.initval.map(String.init) ?? "$null"
                let locks = t.lockHolders.isEmpty ? "" : "  locked by \(t.lockHolders.map(String.init).joined(separator: ","))"
                out.append("  \(pad(t.name, 16)) size 2^\(t.sizeLog2) (\(t.buckets) buckets)  items \(t.approximate ? "~" : "")\(t.items)  autoexpire \(expire)  initval \(initval)\(locks)")
                for item in t.shown {
                    var line = "    \(item.key) = \(value(item.type, item.int, item.string, item.truncated))"
                    if let e = item.expiresInSeconds {
                        line += e > 0 ? String(format: "  (expires in %.1f s)", e) : String(format: "  (expired %.1f s ago)", -e)
                    }
                    out.append(line)
                }
                if t.itemsWalked > UInt64(t.shown.count) { out.append("    ... \(t.itemsWalked - UInt64(t.shown.count)) more") }
            }
        }
        if let t = r.transactions { out += transactions(t) }
        if let wheels = r.wheels {
            out.append("")
            out.append("timer wheels (\(wheels.count))")
            for w in wheels {
                let due = w.nextDueInMs.map { $0 >= 0 ? "next due in \($0) ms" : "next due \(-$0) ms ago" } ?? "nothing armed"
                let lock = w.lockHolderPID.map { "  locked by \($0)" } ?? ""
                let armed = w.approximate ? "~\(w.armed) (walk found ~\(w.walked))" : String(w.armed)
                out.append("  \(pad(w.name, 16)) tick \(w.tickMs) ms  slots \(w.slots)  armed \(armed)  armed-total \(w.armedTotal)  fired-total \(w.firedTotal)  \(due)\(lock)")
                if !w.pending.isEmpty {
                    out.append("    pending by due time: " + w.pending.map { "\($0.dueInMs >= 0 ? "+" : "")\($0.dueInMs) ms: \($0.count)" }.joined(separator: ", "))
                }
            }
        }
        if let a = r.async {
            out.append("")
            out.append("async  second ring tick \(a.ringTickMs) ms  ms_timer \(a.msTimerMs == 0 ? "off" : "\(a.msTimerMs) ms")  suspended \(a.suspended)  resumed \(a.resumed)  found nothing \(a.resumeMissed)  tasks \(a.tasksPushed)  refused \(a.refused)  timer processes asleep: ring \(a.ringSleepers), ms \(a.msSleepers)")
        }
        if let h = r.holds {
            out.append("")
            out.append("transaction holds  \(h.rows) rows  settled after deaths \(h.settled)  processes holding now \(h.held.count)")
            for p in h.held {
                let overflow = p.overflow > 0 ? "  not recorded \(p.overflow)" : ""
                out.append("  slot \(p.slot): \(p.transactions.count) references, \(p.takenTimers) timers taken\(overflow)")
            }
        }
        if let q = r.httpQueries { out += httpQueries(q) }
        if let t = r.tcpConnections { out += tcpConnections(t) }
        if let d = r.dnsCache { out += dnsCache(d) }
        if let u = r.usrloc { out += usrloc(u) }
        if let a = r.auth {
            out.append("")
            out.append("auth nonces  secret \(a.secret)  nonce_expire \(a.nonceExpireSeconds) s  nonce_count \(a.nonceCount ? 1 : 0)  issued \(a.issued)  next id \(a.nonceIdNext)")
            out.append("  nc array  slots \(a.slotsUsed)/\(a.slots) in use  nc accepted \(a.accepted)  replays refused \(a.replays)  stale (slot reused) \(a.lost)")
        }
        if let c = r.changeableSettings, !c.isEmpty {
            out.append("")
            out.append("settings changeable at run time (cfg.set)")
            for e in c {
                out.append("  \(e.group).\(e.name) = \(e.value)  (\(e.minimum)...\(e.maximum), changed \(e.changes) times)  \(e.description)")
            }
        }
        if let s = r.statistics { out += statistics(s) }
        if approximate(r) || r.rereads > 0 { out.append("") }
        if approximate(r) {
            out.append("~ marks counts that changed while they were read (no lock is taken): each held at some moment of the read")
        }
        if r.rereads > 0 {
            out.append("\(r.rereads) read\(r.rereads == 1 ? "" : "s") repeated: a structure changed under the reader (not a problem)")
        }
        if !r.problems.isEmpty {
            out.append("")
            out.append("problems")
            for p in r.problems { out.append("  \(p)") }
        }
        return out.joined(separator: "\n")
    }

    /// The transaction table: its load, then one line per shown transaction (and one per
    /// branch, and one for a resume point).
    static func transactions(_ t: ArenaReport.Transactions) -> [String] {
        let a = t.approximate ? "~" : ""
        var out = ["", "transactions (\(a)\(t.live) live)"]
        let s = t.byState
        out.append("  buckets \(t.buckets)  created \(t.created)  destroyed \(t.destroyed)  suspended \(t.suspended)  stale lookups \(t.staleLookups)  failed creates \(t.failedCreates)")
        out.append("  walked \(a)\(t.walked): suspended \(s.suspended)  replied \(s.replied)  relayed \(s.relayed)  canceled \(s.canceled)  timed out \(s.timedOut)\(t.bucketLockHolders.isEmpty ? "" : "  buckets locked by \(t.bucketLockHolders.map(String.init).joined(separator: ","))")")
        for x in t.shown {
            let flags = x.flags.isEmpty ? "-" : x.flags.joined(separator: ",")
            let lock = x.lockHolderPID.map { "  locked by \($0)" } ?? ""
            out.append("  \(pad("\(x.index):\(x.label)", 12)) \(pad(x.method, 9)) status \(x.uasStatus)  age \(x.ageMs) ms  refs \(x.refcount)  [\(flags)]  call-id \(x.callID)  from \(x.source)\(lock)")
            if !x.armedRoutes.isEmpty {
                out.append("      armed: " + x.armedRoutes.sorted { $0.key < $1.key }.map { "\($0.key) route \($0.value)" }.joined(separator: "  "))
            }
            for (i, b) in x.branches.enumerated() {
                let onFailure = b.branchFailureRoute.map { "  branch-failure route \($0)" } ?? ""
                out.append("      branch \(i) -> \(b.destination)  last status \(b.lastStatus)  retransmits \(b.retransmits)  [\(b.flags.joined(separator: ","))]\(onFailure)")
            }
            if let r = x.resume {
                let due = r.dueInMs.map { $0 >= 0 ? "  due in \($0) ms" : "  due \(-$0) ms ago" } ?? ""
                let place: String
                switch r.kind {
                case "route": place = "route \(r.route)"
                case "action": place = "block \(r.block) from action \(r.action)"
                default: place = r.kind
                }
                out.append("      resumes: \(place)  group \(r.group)\(due)")
            }
        }
        if t.walked > UInt64(t.shown.count) { out.append("  ... \(t.walked - UInt64(t.shown.count)) more") }
        return out
    }

    /// Whether any count of the report is marked approximate.
    static func approximate(_ r: ArenaReport) -> Bool {
        r.allocator?.approximate == true || r.queues?.contains { $0.approximate } == true
            || r.hashTables?.contains { $0.approximate } == true || r.transactions?.approximate == true
            || r.wheels?.contains { $0.approximate } == true
    }

    /// A shared value as a script would print it.
    static func value(_ type: String, _ int: Int64?, _ string: String?, _ truncated: Bool?) -> String {
        switch type {
        case "null": return "$null"
        case "int": return int.map(String.init) ?? "?"
        case "string": return string.map { "\"\($0)\"" + (truncated == true ? "..." : "") } ?? "(unreadable)"
        default: return type
        }
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func bytes(_ n: UInt64) -> String {
        if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / 1048576) }
        if n >= 1 << 10 { return String(format: "%.1f KiB", Double(n) / 1024) }
        return "\(n) B"
    }

    static func percent(_ a: UInt64, _ b: UInt64) -> String {
        b == 0 ? "0%" : String(format: "%.1f%%", Double(a) * 100 / Double(b))
    }

    static func date(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }
}

extension ReportFormatter {
    /// http_async_client: the table's load and statistics, then one line per pending query.
    static func httpQueries(_ q: ArenaReport.HTTPQueries) -> [String] {
        var out = ["", "http queries  pending \(q.used)/\(q.capacity) (\(q.entryBytes) B each)  most at once \(q.highWater)  sent \(q.requests)  replies \(q.replies)  errors \(q.errors)  timeouts \(q.timeouts)  refused \(q.refused)  answered too late \(q.orphaned)  released after worker deaths \(q.settled)"]
        for p in q.pending {
            let url = p.urlLength > UInt32(p.url.utf8.count) ? p.url + "... (\(p.urlLength) bytes)" : p.url
            let tx = p.transaction.map { "tx \($0)" } ?? "no transaction"
            let worker = p.workerSlot.map { "  worker slot \($0)" } ?? ""
            out.append("  #\(p.id) \(pad(p.state, 7)) age \(p.ageMs) ms  timeout \(p.timeoutMs) ms  \(tx)\(worker)  \(p.method) \(url)")
        }
        return out
    }
}

extension ReportFormatter {
    /// TCP: the table's load and counters, then one line per open connection.
    static func tcpConnections(_ t: ArenaReport.TCPConnections) -> [String] {
        var out = ["", "tcp connections  open \(t.used)/\(t.capacity) (\(t.slotBytes) B each in the arena)  most at once \(t.highWater)  accepted \(t.accepted)  connected out \(t.connected)  refused (full) \(t.refused)  connect failures \(t.connectFailed)",
                   "  closed: by peer \(t.closedByPeer)  idle \(t.closedIdle)  read timeout \(t.closedReadTimeout)  bad input \(t.closedBadInput)  by script \(t.closedByScript)  send error \(t.closedSendError)",
                   "  messages in \(t.messagesIn) (\(t.bytesIn) B)  out \(t.messagesOut) (\(t.bytesOut) B)  sends to closed connections \(t.sendFailed)  queue full \(t.queueFull)"]
        for c in t.connections {
            let aliases = c.aliasPorts.isEmpty ? "" : "  aliases \(c.aliasPorts.map(String.init).joined(separator: ","))"
            let pending = c.pendingOut > 0 ? "  pending out \(c.pendingOut) B" : ""
            out.append("  #\(c.id) \(pad(c.state, 10)) \(c.direction)  \(c.peer)  sock \(c.socket)  age \(c.ageMs) ms  idle \(c.idleMs) ms  in \(c.messagesIn)/\(c.bytesIn) B  out \(c.messagesOut)/\(c.bytesOut) B\(pending)\(aliases)\(c.keepalive ? "  keepalive" : "")")
        }
        return out
    }

    /// The DNS cache: its load and statistics, then one line per entry shown.
    static func dnsCache(_ d: ArenaReport.DNSCache) -> [String] {
        var out = ["", "dns cache  entries \(d.used)/\(d.capacity) (\(d.entryBytes) B each)  most at once \(d.highWater)  lookups \(d.lookups)  hits \(d.hits) (negative \(d.negativeHits))  stale served \(d.staleServed)  resolving elsewhere \(d.busy)  misses \(d.misses)  stored \(d.stored)  queries \(d.queries)  timeouts \(d.timeouts)  errors \(d.errors)",
                   "  evicted expired \(d.evictedExpired), live \(d.evictedLive)  no room \(d.full)  gc every \(d.gcIntervalMs / 1000) s: runs \(d.gcRuns), freed \(d.gcFreed)  flushes \(d.flushes)\(d.lockHolderPID != 0 ? "  lock held by pid \(d.lockHolderPID)" : "")"]
        for e in d.entries {
            let expires = e.expiresInSeconds.map { $0 >= 0 ? String(format: "expires in %.1f s", $0) : String(format: "expired %.1f s ago", -$0) } ?? "no answer yet"
            let resolving = e.resolvingPID.map { "  resolving: pid \($0)" } ?? ""
            out.append("  \(pad(e.type, 5)) \(e.name)  \(e.state)  ttl \(e.ttl) s  \(expires)  hits \(e.hits)\(resolving)")
            for r in e.records { out.append("        \(r)") }
        }
        return out
    }

    /// usrloc's location table: its load, then one line per contact shown.
    static func usrloc(_ u: ArenaReport.Usrloc) -> [String] {
        var out = ["", "location table (usrloc)  contacts \(u.contacts)/\(u.capacity)  AORs \(u.aors)  buckets \(u.buckets)  removed by the timer \(u.expiredRemoved)  refused (full) \(u.rejectedFull)  use_domain \(u.useDomain ? 1 : 0)  db_mode \(u.dbMode)\(u.dbMode == 0 ? "" : "  dirty \(u.dirty)  flushed \(u.dbWritten)  db errors \(u.dbFailed)")\(u.lockHolders.isEmpty ? "" : "  locks held by pid \(u.lockHolders.map(String.init).joined(separator: ","))")"]
        for c in u.shown {
            let expires = c.expiresInSeconds.map { $0 >= 0 ? "expires in \($0) s" : "expired \(-$0) s ago" } ?? "permanent"
            let q = c.q < 0 ? "" : "  q \(Double(c.q) / 1000)"
            let extra = (c.received.map { "  received \($0)" } ?? "") + (c.path.map { "  path \($0)" } ?? "")
            out.append("  \(c.aor)  \(c.uri)  \(expires)\(q)  \(c.callID) \(c.cseq)  \(c.socket)\(extra)  \(c.userAgent)\(c.dirty ? "  dirty" : "")")
        }
        if u.contactsWalked > u.shown.count { out.append("  ... \(u.contactsWalked - u.shown.count) more") }
        return out
    }

    /// The named statistics, by group, as `kamcmd stats.get_statistics all` lists them;
    /// counters at 0 are counted, not listed.
    static func statistics(_ s: ArenaReport.Statistics) -> [String] {
        let zero = s.entries.filter { $0.kind == "counter" && $0.value == 0 }.count
        var out = ["", "statistics (\(s.entries.count), \(zero) counters at 0 not shown)  resets \(s.resets)"]
        var line = ""
        var group = ""
        for e in s.entries where !(e.kind == "counter" && e.value == 0) {
            if e.group != group || line.count > 90 {
                if !line.isEmpty { out.append(line) }
                line = e.group != group ? "  \(pad(e.group + ":", 6))" : "        "
                group = e.group
            }
            line += " \(e.name)=\(e.value.map(String.init) ?? "n/a")\(e.kind == "gauge" ? "(gauge)" : "")"
        }
        if !line.isEmpty { out.append(line) }
        return out
    }
}
