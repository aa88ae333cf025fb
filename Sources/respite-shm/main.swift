// respite-shm: shows what is inside a running (or crashed) Respite server's arena.
import ArgumentParser
import Foundation
import Shared

struct RespiteShm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respite-shm",
        abstract: "Print the shared arena of a Respite server: header, allocator, processes, queues.",
        discussion: "Opens the shared-memory object read-only and never takes a lock, so it is safe on a live or crashed server. A structure that changes while it is read is read again (up to 5 times), and counts that moved under the reader are marked ~ (\"approximate\" in JSON). A corrupt arena gives an error (exit 2) or a partial report listing what stayed inconsistent in every read (exit 3), never a crash.")

    @Option(name: .customLong("shm-name"), help: "Name of the shared-memory object (as given to respite --shm-name).")
    var shmName: String?

    @Option(name: .long, help: "Pid of the server whose default arena (/respite-<pid>) to open.")
    var pid: Int32?

    @Flag(name: .long, help: "Print JSON for tools instead of text.")
    var json = false

    @Flag(name: .long, help: "Print the statistics and gauges in the Prometheus text format (respite_<group>_<name>).")
    var prometheus = false

    @Option(name: .long, help: "Refresh every N seconds until interrupted.")
    var watch: Double?

    func validate() throws {
        if (shmName == nil) == (pid == nil) { throw ValidationError("give exactly one of --shm-name or --pid") }
        if let w = watch, !(w > 0) { throw ValidationError("--watch needs a positive number of seconds") }
        if json && prometheus { throw ValidationError("give at most one of --json or --prometheus") }
    }

    func run() throws {
        let name = shmName ?? Arena.defaultName(pid: pid!)
        repeat {
            let report: ArenaReport
            do {
                let arena = try Arena.open(name: name, writable: false)
                report = ArenaInspector(base: UnsafeRawPointer(arena.base), size: arena.size).report()
            } catch {
                FileHandle.standardError.write(Data("respite-shm: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if watch != nil && !json && !prometheus { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            if prometheus {
                print(PrometheusExposition.render(report: report), terminator: "")
            } else {
                print(json ? try ReportFormatter.json(report) : ReportFormatter.text(report))
            }
            if let w = watch {
                fflush(nil)
                usleep(UInt32(w * 1_000_000))
            } else if !report.problems.isEmpty || report.allocator?.walkError != nil {
                throw ExitCode(3)
            }
        } while watch != nil
    }
}

RespiteShm.main()
