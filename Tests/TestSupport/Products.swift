import Foundation

/// The package's built executables. `swift build --build-tests` puts them beside the test
/// bundle, so the running test process finds them next to its own executable.
public enum Products {
    /// The directory of the build products (`.build/<triple>/debug`).
    public static var directory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The path of the built executable `name` (`respite`, `respite-shm`, ...).
    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Runs the built executable `name` to completion (`Spawn.run`).
    public static func run(_ name: String, _ args: [String], timeout: TimeInterval = 60) throws -> RunResult {
        try Spawn.run(path(name), args, timeout: timeout)
    }

    /// Starts the built executable `name` and waits for the first line it prints
    /// (`Spawn.startReadingFirstLine`); the caller stops it.
    public static func startReadingFirstLine(_ name: String, _ args: [String], timeout: TimeInterval = 10) throws
        -> (process: ChildProcess, line: String)
    {
        try Spawn.startReadingFirstLine(path(name), args, timeout: timeout)
    }
}

/// Waiting for a condition with a deadline: the condition is checked every `interval`
/// seconds, never slept on blindly. Returns whether it became true in time.
public func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.01, _ condition: () throws -> Bool) rethrows
    -> Bool
{
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        usleep(UInt32(interval * 1_000_000))
    }
}
