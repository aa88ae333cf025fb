// respite-stress: the SIP load generator of Respite's benchmarks. Sends requests over
// loopback UDP at a fixed rate or with a fixed window, matches every reply to its request,
// and prints counts and latency percentiles (one parseable `stress ...` line, or JSON).
import ArgumentParser
import Glibc
import SIP
import Shared

/// The command line: options, validation into a `StressConfig`, and printing.
@main
struct RespiteStress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respite-stress",
        abstract: "SIP load generator over loopback UDP: sends requests, matches replies, reports loss and latency.",
        discussion: """
            Sends at a fixed --rate or keeps a --window of requests outstanding, until --count \
            requests or --duration seconds (default 10, at most 600). A request unanswered \
            --timeout ms after it was sent is lost. Latency runs from the send to the reply \
            that completes the request (the first final reply, or the expected provisional). \
            Exit status: 0 when nothing was lost or unexpected, 1 otherwise, 2 on usage errors. \
            Only loopback targets (127.0.0.0/8, ::1) are accepted.
            """)

    @Option(help: "Server address, host:port in 127.0.0.0/8, [::1]:port, or localhost.")
    var target = "127.0.0.1:5060"

    @Option(help: "Local address to bind, host:port on loopback (port 0: any; default 127.0.0.1:0, or [::1]:0 for an IPv6 target).")
    var bind: String?

    @Option(help: "Request-URI (default sip:service@<target>).")
    var ruri: String?

    @Option(help: "Request method: OPTIONS, INVITE, MESSAGE, REGISTER, INFO, ...")
    var method = "OPTIONS"

    @Option(help: "Requests per second, paced on the monotonic clock (default 1000 when no --window).")
    var rate: Double?

    @Option(help: "Instead of a rate: keep this many requests outstanding, as fast as replies come.")
    var window: Int?

    @Option(help: "Stop after this many requests.")
    var count: Int?

    @Option(help: "Stop sending after this many seconds (default 10 without --count; at most 600). With --find-max: seconds per step (default 8).")
    var duration: Double?

    @Option(help: "Milliseconds after which an unanswered request counts as lost.")
    var timeout = 2000

    @Option(help: "Status that answers a request: a code (200, 100, 404) or a class (2xx).")
    var expect = "2xx"

    @Option(name: .customLong("socket-buffer"), help: "SO_RCVBUF and SO_SNDBUF to ask for, in bytes.")
    var socketBuffer = 4 * 1024 * 1024

    @Option(help: "Rate mode: most requests sent back to back when catching up (default: 1 ms worth, at least 2).")
    var burst: Int?

    @Flag(help: "Print the result as JSON instead of the `stress ...` line (the summary goes to stderr).")
    var json = false

    @Flag(help: "Print only the result line (or JSON), no summary.")
    var quiet = false

    @Flag(name: .customLong("find-max"), help: "Step the rate up from --rate until a step loses or gets unexpected replies; print the last clean rate.")
    var findMax = false

    @Option(name: .customLong("step-percent"), help: "With --find-max: rate increase per step, in percent.")
    var stepPercent = 10.0

    @Option(name: .customLong("max-rate"), help: "With --find-max: stop stepping at this rate.")
    var maxRate = 200_000.0

    /// Usage errors exit with 2 (ArgumentParser's own default would be 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = fullMessage(for: error)
                Console.line(message, to: .error)
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        if findMax {
            let finder = RateFinder(base: config, stepFactor: 1 + stepPercent / 100, maxRate: maxRate,
                                    progress: quiet ? nil : { [json] in Console.line($0, to: json ? .error : .output) })
            let outcome = try finder.run()
            emit(summary: outcome.summary, line: outcome.resultLine, json: outcome.json)
            if !outcome.found { throw ExitCode(1) }
            return
        }
        let result = try LoadRunner(config: config).run()
        emit(summary: result.summary(), line: result.resultLine(), json: result.json())
        if !result.isClean { throw ExitCode(1) }
    }

    /// Prints the summary (unless quiet) and the result line or JSON.
    private func emit(summary: String, line: String, json jsonText: String) {
        if !quiet { Console.line(summary, to: json ? .error : .output) }
        Console.line(json ? jsonText : line)
    }

    /// Checks every option and builds the run's configuration.
    func makeConfig() throws -> StressConfig {
        let targetEndpoint: SocketAddress
        let bindEndpoint: SocketAddress
        do {
            targetEndpoint = try StressConfig.loopbackAddress(target, defaultPort: 5060)
            let anyLocal = targetEndpoint.family == .ipv4 ? "127.0.0.1:0" : "[::1]:0"
            bindEndpoint = try StressConfig.loopbackAddress(bind ?? anyLocal, defaultPort: 0)
        } catch {
            throw ValidationError(error.description)
        }
        guard targetEndpoint.port != 0 else { throw ValidationError("--target needs a port other than 0") }
        guard bindEndpoint.family == targetEndpoint.family else {
            throw ValidationError("--bind \(bindEndpoint) and --target \(targetEndpoint) are of different families")
        }
        let requestURI = ruri ?? "sip:service@\(targetEndpoint)"
        guard requestURI.hasPrefix("sip:") || requestURI.hasPrefix("sips:"),
              SIPURI.parse(requestURI) != nil else {
            throw ValidationError("--ruri '\(requestURI)' is not a SIP URI")
        }
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else {
            throw ValidationError("--method must be an upper-case method name such as OPTIONS or INVITE")
        }
        let sipMethod = SIPMethod(method)
        guard sipMethod != .ack, sipMethod != .cancel else {
            throw ValidationError("--method \(method) gets no reply of its own: send OPTIONS, INVITE, MESSAGE, ...")
        }
        let mode: StressConfig.Mode
        switch (rate, window) {
        case (.some, .some): throw ValidationError("give --rate or --window, not both")
        case (.some(let r), nil):
            guard r.isFinite, r >= 1, r <= 1_000_000 else { throw ValidationError("--rate must be between 1 and 1000000") }
            mode = .rate(r)
        case (nil, .some(let w)):
            guard w >= 1, w <= 100_000 else { throw ValidationError("--window must be between 1 and 100000") }
            guard !findMax else { throw ValidationError("--find-max steps a rate: give --rate, not --window") }
            mode = .window(w)
        case (nil, nil): mode = .rate(1000)
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        let seconds = duration ?? (findMax ? 8 : (count == nil ? 10 : StressConfig.maxDurationSeconds))
        guard seconds > 0, seconds <= StressConfig.maxDurationSeconds else {
            throw ValidationError("--duration must be more than 0 and at most \(Int(StressConfig.maxDurationSeconds)) seconds")
        }
        guard (1...60_000).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 60000 ms") }
        guard let expectation = Expectation(parsing: expect) else {
            throw ValidationError("--expect must be a status code (100-699) or a class such as 2xx")
        }
        guard socketBuffer >= 4096, socketBuffer <= 1 << 30 else { throw ValidationError("--socket-buffer must be between 4096 and 1 GiB") }
        if let burst, burst < 1 { throw ValidationError("--burst must be at least 1") }
        if findMax {
            guard stepPercent >= 1, stepPercent <= 100 else { throw ValidationError("--step-percent must be between 1 and 100") }
            guard case .rate(let r) = mode, maxRate >= r else { throw ValidationError("--max-rate must be at least --rate") }
        }
        var burstAllowance = 1
        if case .rate(let r) = mode { burstAllowance = burst ?? StressConfig.defaultBurst(rate: r) }
        return StressConfig(
            target: targetEndpoint, bind: bindEndpoint, requestURI: requestURI, method: sipMethod, mode: mode,
            count: count.map { UInt64($0) }, durationNanos: UInt64(seconds * 1e9),
            timeoutNanos: UInt64(timeout) * 1_000_000, expect: expectation,
            socketBufferBytes: socketBuffer, burst: burstAllowance, burstIsDefault: burst == nil)
    }
}
