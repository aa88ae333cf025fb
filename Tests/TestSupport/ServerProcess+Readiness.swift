import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ServerProcess {
    /// Polls every 20 ms until the server is ready as `readiness` says; throws
    /// `ServerFailed` when it exits first or `timeout` seconds pass.
    func awaitReady(_ readiness: Readiness, timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var table = "no arena yet"
        let started = try waitUntil(timeout: timeout, interval: 0.02) {
            try checkRunning()
            return allProcessesStarted(&table)
        }
        guard started else {
            throw ServerFailed(reason: "not every process started in \(timeout) s: \(table)", log: log)
        }
        if readiness == .answersOptions {
            try awaitOptionsReply(until: deadline)
        }
    }

    private func checkRunning() throws {
        if !isRunning {
            throw ServerFailed(
                reason: "it exited while starting (\(stop(timeout: 0).map(\.description) ?? "?"))", log: log)
        }
    }

    /// Every slot the master claimed is running with a live pid. The master claims every
    /// slot before it forks the first worker, and a worker's slot only becomes "running"
    /// once it is forked: so a table with a running worker is complete.
    private func allProcessesStarted(_ seen: inout String) -> Bool {
        guard let r = try? Spawn.run(Products.path("respite-shm"), ["--shm-name", shmName, "--json"], timeout: 5),
            r.status == 0
        else { return false }
        guard let snapshot = try? JSONDecoder().decode(ArenaSnapshot.self, from: Data(r.stdout.utf8)),
            let processes = snapshot.processes
        else {
            seen = "unreadable report"
            return false
        }
        seen = processes.map { "\($0.description): \($0.state)\($0.alive ? "" : " (not alive)")" }.joined(
            separator: ", ")
        return snapshot.header.ready && processes.count >= 2
            && processes.allSatisfy { $0.state == "running" && $0.alive && $0.pid > 0 }
    }

    /// Sends `OPTIONS sip:ping@127.0.0.1` every 20 ms (the same request: a retransmission)
    /// until a reply with its Call-ID comes back.
    private func awaitOptionsReply(until deadline: Date) throws {
        let socket = try LoopbackUDPSocket()
        let callID = "respite-ready-\(getpid())-\(UUID().uuidString)@127.0.0.1"
        let request = Array(
            [
                "OPTIONS sip:ping@127.0.0.1 SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(socket.port);branch=z9hG4bK-ready-\(UInt32.random(in: 0...UInt32.max));rport",
                "Max-Forwards: 70",
                "From: <sip:ready@127.0.0.1:\(socket.port)>;tag=ready",
                "To: <sip:ping@127.0.0.1>",
                "Call-ID: \(callID)",
                "CSeq: 1 OPTIONS",
                "Content-Length: 0",
                "", "",
            ].joined(separator: "\r\n").utf8)
        let wanted = Array(callID.utf8)
        while Date() < deadline {
            try checkRunning()
            socket.send(request, to: port)
            let until = Date().addingTimeInterval(0.02)
            while let reply = socket.receive(timeout: until.timeIntervalSinceNow) {
                if reply.starts(with: Array("SIP/2.0 ".utf8)) && Self.contains(reply, wanted) { return }
            }
        }
        throw ServerFailed(reason: "no reply to OPTIONS sip:ping@127.0.0.1 on port \(port)", log: log)
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains {
            haystack[$0..<($0 + needle.count)].elementsEqual(needle)
        }
    }
}
