/// `respite --cfg-print`: the config as the parser sees it, as text. As Kamailio's
/// option does: included files appear in place of their `include_file`/`import_file`
/// line, the lines of a false `#!ifdef`/`#!ifndef` branch and the conditional
/// directives themselves are left out, and everything else (comments, `#!define` lines,
/// names that are defined) stays as written.
///
/// It works on lines, not tokens, so that the output keeps the file's own layout; the
/// conditional logic is the preprocessor's (`Preprocessor.directive`).
public struct ConfigPrinter {
    public struct Failure: Error, Sendable {
        public var message: String
    }

    private var defined: Set<String>
    private var conditionals: [(active: Bool, parentActive: Bool)] = []
    private var includeStack: [String] = []
    private var output = ""
    private let read: (String) -> String?

    /// `defines` are the command line's `-A` names.
    public init(defines: [String: String], read: ((String) -> String?)? = nil) {
        defined = Set(defines.keys)
        self.read = read ?? { Preprocessor.readFile($0) }
    }

    /// The preprocessed text of `path` and everything it includes.
    public mutating func print(path: String) -> Result<String, Failure> {
        do {
            try include(path, optional: false)
            if !conditionals.isEmpty { throw Failure(message: "\(path): '#!ifdef' / '#!ifndef' without '#!endif'") }
            return .success(output)
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(message: "\(error)"))
        }
    }

    private var active: Bool { conditionals.last?.active ?? true }

    private mutating func include(_ path: String, optional: Bool) throws {
        if includeStack.contains(path) { throw Failure(message: "include loop: '\(path)' includes itself") }
        if includeStack.count > ScriptLimits.maxIncludeDepth {
            throw Failure(message: "includes nested deeper than \(ScriptLimits.maxIncludeDepth) levels: '\(path)'")
        }
        guard let text = read(path) else {
            if optional { return }
            throw Failure(message: "cannot read file '\(path)'")
        }
        includeStack.append(path)
        defer { includeStack.removeLast() }
        let directory = Preprocessor.directory(of: path)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (number, line) in lines.enumerated() {
            try printLine(String(line), file: path, line: number + 1, directory: directory)
        }
    }

    private mutating func printLine(_ line: String, file: String, line number: Int, directory: String) throws {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if trimmed.hasPrefix("#!") || trimmed.hasPrefix("!!") {
            let name = String(words.first?.dropFirst(2) ?? "")
            let argument = words.count > 1 ? words[1] : nil
            switch name {
            case "ifdef", "ifndef":
                guard let argument else { throw Failure(message: "\(file):\(number): #!\(name) needs a name") }
                let parent = active
                conditionals.append((parent && (defined.contains(argument) == (name == "ifdef")), parent))
                return
            case "else":
                guard let c = conditionals.popLast() else { throw Failure(message: "\(file):\(number): #!else without #!ifdef") }
                conditionals.append((c.parentActive && !c.active, c.parentActive))
                return
            case "endif":
                if conditionals.popLast() == nil { throw Failure(message: "\(file):\(number): #!endif without #!ifdef") }
                return
            default:
                guard active else { return }
                switch name {
                case "define", "trydef", "redefine":
                    if let argument { defined.insert(argument) }
                case "undef":
                    if let argument { defined.remove(argument) }
                case "include_file", "import_file":
                    let target = trimmed.dropFirst(2 + name.count)
                    try include(Preprocessor.resolve(String(target).trimmingQuotes(), in: directory),
                                optional: name == "import_file")
                    return
                default:
                    break
                }
            }
        } else if !active {
            return
        } else if let keyword = words.first, keyword == "include_file" || keyword == "import_file", words.count >= 2 {
            let target = trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }
            try include(Preprocessor.resolve(String(target).trimmingQuotes(), in: directory),
                        optional: keyword == "import_file")
            return
        }
        output += line + "\n"
    }
}
