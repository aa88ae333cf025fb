import Script

/// The config fuzz target: one input through the preprocessor, the parser and the resolver,
/// then the report rendered, with the loader's promises checked. `Fuzz/config` builds this
/// file (with `TestRegistry`) into a libFuzzer binary (`make fuzz`), and `CorpusReplayTests`
/// runs every file of `Fuzz/corpus/config` through it, so a corpus file is replayed by the
/// same code that found it.
///
/// An input is a config; a line `//--- NAME` starts another file, NAME, that the config may
/// include. Nothing is read from the disk.
enum ConfigFuzzTarget {
    static let registry = TestRegistry.make()
    static let main = "main.cfg"
    private static let fileMarker = "//--- "

    /// Loads one input; returns what the load gave, after checking it (a broken promise traps,
    /// which the fuzzer reports as a crash).
    @discardableResult
    static func run(_ bytes: UnsafeRawBufferPointer) -> ScriptLoader.Result {
        let files = split(String(decoding: bytes, as: UTF8.self))
        let loader = ScriptLoader(registry: registry, readFile: { files[$0] })
        let result = loader.load(path: main)
        check(result, files: files)
        return result
    }

    static func run(_ text: String) -> ScriptLoader.Result {
        var text = text
        return text.withUTF8 { run(UnsafeRawBufferPointer($0)) }
    }

    /// The main file and the files after each `//--- NAME` line.
    static func split(_ text: String) -> [String: String] {
        var files: [String: String] = [:]
        var name = main
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(fileMarker) {
                if files[name] == nil { files[name] = lines.joined(separator: "\n") }
                name = String(line.dropFirst(fileMarker.count))
                lines = []
            } else {
                lines.append(line)
            }
        }
        if files[name] == nil { files[name] = lines.joined(separator: "\n") }
        return files
    }

    private static func check(_ result: ScriptLoader.Result, files: [String: String]) {
        let d = result.diagnostics
        precondition((result.program == nil) == d.hasErrors, "a program exactly when there is no error")
        precondition(d.errorCount <= ScriptLimits.maxErrors, "at most maxErrors errors")
        precondition(d.errors.count == d.errorCount, "errors and errorCount agree")
        if d.stopped { precondition(d.items.last?.message == "too many errors, stopping", "the stop line is last") }
        for item in d.items {
            let l = item.location
            precondition(files[l.file] != nil, "a diagnostic in an unknown file: \(item)")
            precondition(l.line >= 1 && l.column >= 1, "a diagnostic before the start: \(item)")
        }
        _ = d.rendered()
    }
}
