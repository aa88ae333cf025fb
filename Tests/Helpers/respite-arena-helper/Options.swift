#if canImport(Glibc)
import Glibc
#endif
import Shared

/// `--key value` pairs.
struct Options {
    var values: [String: String] = [:]

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            if args[i].hasPrefix("--"), i + 1 < args.count {
                values[String(args[i].dropFirst(2))] = args[i + 1]
                i += 2
            } else {
                i += 1
            }
        }
    }

    func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap { Int($0) } ?? fallback }
    func string(_ key: String, _ fallback: String) -> String { values[key] ?? fallback }
}

/// A fresh arena with the standard layout, unlinked when the scenario ends unless kept.
func makeArena(_ options: Options, queues: [ArenaLayout.Queue], size: Int = 64 << 20) throws -> Arena {
    let name = options.string("shm-name", "/respite-test-\(getpid())")
    let arena = try Arena.create(name: name, size: size, debug: options.int("debug", 0) != 0)
    _ = try arena.ref.install(ArenaLayout(processCapacity: 16, queues: queues))
    arena.ref.setReady()
    return arena
}

/// Prints the result line and flushes it (the test reads it through a pipe).
func report(_ pairs: KeyValuePairs<String, Any>) {
    print(pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    fflush(nil)
}
