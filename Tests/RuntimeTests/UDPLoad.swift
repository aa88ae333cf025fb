import Foundation
import TestSupport

/// OPTIONS requests at a steady rate from one loopback socket, sent from a thread of its
/// own for a fixed time while the test does something else; replies are drained and
/// counted as they come. `wait()` returns once the sending is over and the replies have
/// had a second to arrive.
final class UDPLoad: @unchecked Sendable {
    struct Result: CustomStringConvertible {
        var sent = 0
        var answered = 0
        var description: String { "\(sent) sent, \(answered) answered" }
    }

    private let lock = NSLock()
    private var result = Result()
    private var sending = true
    private let done = DispatchSemaphore(value: 0)

    /// Starts sending `rate` requests a second for `seconds` to 127.0.0.1:`port`.
    init(port: UInt16, rate: Int, seconds: Double) {
        Thread { self.run(port: port, rate: rate, seconds: seconds) }.start()
    }

    /// Whether requests are still being sent.
    var isSending: Bool { lock.withLock { sending } }

    /// Waits for the end of the load; returns what was sent and answered.
    func wait() -> Result {
        done.wait()
        done.signal()
        return lock.withLock { result }
    }

    private func run(port: UInt16, rate: Int, seconds: Double) {
        defer { done.signal() }
        guard let client = try? SIPTestClient(server: port) else {
            lock.withLock { sending = false }
            return
        }
        var sent = 0, answered = 0
        let start = Date()
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= seconds { break }
            // Catch up with the schedule, then drain what came back.
            let due = min(Int(elapsed * Double(rate)) + 1, Int(seconds * Double(rate)))
            while sent < due {
                client.send(client.request("OPTIONS"))
                sent += 1
            }
            while client.socket.receive(timeout: 0) != nil { answered += 1 }
            usleep(1_000)
        }
        lock.withLock { sending = false }
        let deadline = Date().addingTimeInterval(1)
        while answered < sent && Date() < deadline {
            if client.socket.receive(timeout: 0.05) != nil { answered += 1 }
        }
        lock.withLock { result = Result(sent: sent, answered: answered) }
    }
}
