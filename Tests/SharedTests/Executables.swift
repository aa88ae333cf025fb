import Foundation

/// Runs the project's built executables (they sit beside the test bundle).
enum Executables {
    static var directory: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// `key=value` pairs of the last stdout line.
        var values: [String: String] {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            var out: [String: String] = [:]
            for pair in line.split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
            }
            return out
        }
    }

    /// Runs `name args` to completion, killing it after `timeout` seconds. Output goes
    /// through temporary files, so a chatty child never blocks on a full pipe.
    static func run(_ name: String, _ args: [String], timeout: TimeInterval = 60) throws -> Result {
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("respite-test-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("respite-test-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let p = Process()
        p.executableURL = url(name)
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Starts `name args` and waits for its first stdout line; the caller stops it.
    static func start(_ name: String, _ args: [String], timeout: TimeInterval = 10) throws -> (Process, String) {
        let p = Process()
        p.executableURL = url(name)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = Data()
        let deadline = Date().addingTimeInterval(timeout)
        let handle = out.fileHandleForReading
        while Date() < deadline {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        return (p, String(decoding: line, as: UTF8.self))
    }
}
