import Shared

/// `async.*`: what Kamailio's RPC cannot show of the async module, from the arena.
extension RPCMethods {
    static var async: [RPCMethod] {
        [
            RPCMethod("async.groups", help: "Lists the task queues: per group its workers, depth, pushed, taken, refused and the age of the oldest waiting task.", returnsArray: true) { call throws(RPCFault) in
                (report(call, .queues).queues ?? []).map { q in
                    var s = RPCStruct()
                    s.add("name", q.name)
                    s.add("kind", queueKind(q.name))
                    s.add("workers", q.workers)
                    s.add("nonblock", q.nonblocking ? 1 : 0)
                    s.add("usleep", q.usleepMicroseconds)
                    s.add("depth", max(0, q.depth))
                    s.add("max_depth", q.maxDepth)
                    s.add("pushed", q.pushed)
                    s.add("taken", q.taken)
                    s.add("refused", q.refused)
                    s.add("waited_full", q.waitedFull)
                    s.add("idle_workers", q.sleepingConsumers)
                    s.add("oldest_ms", Int((q.oldestWaitingMs ?? 0).rounded()))
                    return s.value
                }
            },
            RPCMethod("async.timers", help: "Lists the timing wheels: per wheel its tick, the armed entries and when the next one is due.", returnsArray: true) { call throws(RPCFault) in
                let r = report(call, [.wheels, .async])
                var out: [RPCValue] = (r.wheels ?? []).map { w in
                    var s = RPCStruct()
                    s.add("name", w.name)
                    s.add("tick_ms", w.tickMs)
                    s.add("slots", w.slots)
                    s.add("armed", w.armed)
                    s.add("armed_total", w.armedTotal)
                    s.add("fired_total", w.firedTotal)
                    s.add("next_due_ms", w.nextDueInMs.map { .int(Int($0)) } ?? .string("none"))
                    return s.value
                }
                if let a = r.async {
                    var s = RPCStruct()
                    s.add("name", "async module")
                    s.add("suspended", a.suspended)
                    s.add("resumed", a.resumed)
                    s.add("resume_missed", a.resumeMissed)
                    s.add("tasks_pushed", a.tasksPushed)
                    s.add("refused", a.refused)
                    out.append(s.value)
                }
                return out
            },
            RPCMethod("async.suspended", help: "Lists the suspended transactions: where and when each resumes (async.suspended [LIMIT], default 100).", returnsArray: true) { call throws(RPCFault) in
                let limit = call.params.isEmpty ? 100 : try call.int(0, "limit")
                guard limit > 0 else { throw RPCFault(400, "limit must be positive") }
                var inspector = ArenaInspector(base: call.process.arena.base, size: call.process.arena.size)
                inspector.parts = .transactions
                inspector.maxTransactions = limit
                let shown = inspector.report().transactions?.shown ?? []
                return shown.filter { $0.flags.contains("suspended") }.map { t in
                    var s = RPCStruct()
                    s.add("tindex", t.index)
                    s.add("tlabel", t.label)
                    s.add("method", t.method)
                    s.add("callid", t.callID)
                    s.add("source", t.source)
                    s.add("age_ms", Int(t.ageMs))
                    if let r = t.resume {
                        s.add("resume", r.kind)
                        s.add("route", Int(r.route))
                        s.add("group", r.group)
                        s.add("due_ms", r.dueInMs.map { .int(Int($0)) } ?? .string("on task"))
                    }
                    return s.value
                }
            },
        ]
    }

    /// What a queue is for: an async task group, or one of the server's own queues.
    static func queueKind(_ name: String) -> String {
        switch name {
        case HTTPAsyncConfig.queueName: return "http_async_client"
        case DNSDeferral.queueName: return "dns"
        case TCPShared.inboundQueue, TCPShared.outboundQueue: return "tcp"
        default: return "async group"
        }
    }

    /// A report of the live arena limited to `parts` (no lock taken; see ArenaInspector).
    static func report(_ call: RPCCall, _ parts: ArenaInspector.Parts) -> ArenaReport {
        var inspector = ArenaInspector(base: call.process.arena.base, size: call.process.arena.size)
        inspector.parts = parts
        return inspector.report()
    }
}
