import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

extension Master {
    /// Forks worker `index`. Returns false when the fork failed.
    mutating func spawn(_ index: Int, _ context: WorkerContext) -> Bool {
        let worker = workers[index]
        do {
            let pid = try Fork.child { worker.runChild(context) }
            workers[index].pid = pid
            workers[index].recentStarts.append(MonotonicClock.nowNs)
            context.sections.processes.started(slot: worker.slot, pid: pid)
            return true
        } catch {
            log.critical("core", "cannot fork \(worker.description): \(error)")
            return false
        }
    }

    /// Waits for signals until told to stop; restarts workers that die.
    mutating func supervise(_ context: WorkerContext) -> Int32 {
        while true {
            guard let signal = Signals.wait(timeoutMilliseconds: 1000) else { continue }
            switch signal {
            case SIGCHLD:
                if !reap(context) { return shutdown(context, status: 1) }
            case SIGHUP:
                log.notice("core", "SIGHUP ignored (reload is not supported; restart the server)")
            default:
                log.notice("core", "signal \(signal): shutting down")
                return shutdown(context, status: 0)
            }
        }
    }

    /// A worker that dies `restartLimit` times within `restartWindowNanos` is in a crash
    /// loop (a config or arena fault that a restart cannot cure): the server stops
    /// instead of forking it again and again.
    static let restartLimit = 5
    static let restartWindowNanos: UInt64 = 10_000_000_000

    /// Collects dead children and restarts them. Returns false on a crash loop.
    mutating func reap(_ context: WorkerContext) -> Bool {
        while let (pid, exit) = Fork.reapAny() {
            guard let index = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            let worker = workers[index]
            log.error("core", "\(worker.description) (pid \(pid)) \(exit); restarting it")
            context.sections.processes.setState(slot: worker.slot, .exited)
            // Its allocator cache and any lock it held come back: the cache here, the locks
            // through their robust owner-died recovery.
            context.arena.reclaimAllocatorCache(slot: worker.slot)
            // And the transactions it held: references dropped, unanswered work answered 500,
            // timers it had taken off its wheel given back.
            // A DNS Worker holds the transaction it resolves for, suspended, until it resumes
            // it: nobody else would resume those.
            var resumer = false
            if case .dnsWorker = worker.kind { resumer = true }
            if let settled = transactionTable?.settleHolds(ofSlot: worker.slot, resumer: resumer), !settled.isEmpty {
                log.notice("core", "\(worker.description) held \(settled.summary)")
            }
            // Queries it was running: their entries come back; a transaction one of them
            // suspended is answered by its fr_timer.
            if let released = context.http?.table.releaseEntries(ofWorker: worker.slot), released > 0 {
                log.notice("http_async_client", "\(worker.description) was running \(released) queries (dropped; their transactions end at fr_timer)")
            }
            // Its connections died with the tcp main's descriptors: their ids stop naming
            // anything (a waiting transaction's reply fails cleanly) before a new one starts.
            if case .tcpMain = worker.kind, let released = context.tcp.map({ cs_tcp_release_all($0.table.raw) }), released > 0 {
                log.notice("tcp", "\(released) TCP connections closed with the tcp main")
            }
            let now = MonotonicClock.nowNs
            workers[index].recentStarts.removeAll { now - $0 > Master.restartWindowNanos }
            if workers[index].recentStarts.count >= Master.restartLimit {
                let seconds = Master.restartWindowNanos / 1_000_000_000
                log.critical("core", "\(worker.description) died \(Master.restartLimit) times in \(seconds) s; stopping the server")
                return false
            }
            if !spawn(index, context) { return false }
        }
        return true
    }

    /// Stops every worker (SIGTERM, then SIGKILL after 3 s) and returns `status`; the
    /// caller's defers unlink the arena and remove the pid file.
    mutating func shutdown(_ context: WorkerContext, status: Int32) -> Int32 {
        let live = workers.map(\.pid).filter { $0 > 0 }
        for pid in live { kill(pid, SIGTERM) }
        let deadline = MonotonicClock.nowNs + 3_000_000_000
        var remaining = Set(live)
        while !remaining.isEmpty && MonotonicClock.nowNs < deadline {
            if let (pid, _) = Fork.reapAny() { remaining.remove(pid) } else { usleep(10_000) }
        }
        for pid in remaining {
            kill(pid, SIGKILL)
            _ = Fork.wait(pid)
        }
        flushLocations(context)
        HTableDatabase.storeAtStop(context.program.settings, tables: context.tables.hashTables, log: log)
        log.notice("core", "stopped")
        return status
    }
}
