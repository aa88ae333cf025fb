import Testing

@testable import Script

/// What modules such as http_client need from the language: arguments a function writes
/// (`ArgKind.variable`), arguments taken as written (`.rawString`), kinds that depend on the
/// number of arguments (`kindsByArity`), and a module's look at all its parameters
/// (`checkParams`, `ConfigSettings.derived`).
struct ModuleExtensionTests {
    /// TestRegistry plus module `echo`: `echo(text, [raw,] result)` stores the derived
    /// prefix, then text (and raw) into result; its `checkParams` joins every `prefix`
    /// parameter and the file `prefix_file` names.
    static func registry() -> ScriptRegistry {
        var r = TestRegistry.make()
        let echo = FunctionSpec(
            "echo", args: [.string, .rawString, .variable], minArgs: 2,
            kindsByArity: [2: [.string, .variable]]
        ) { ctx, args in
            var text = (ctx.program.settings.derived["echo"] as? String ?? "") + args.string(0, &ctx)
            if args.count == 3 { text += args.string(1, &ctx) }
            return args.assign(args.count - 1, .string(text), &ctx) ? 1 : -1
        }
        r.register(
            ModuleSpec(
                name: "echo", params: [ModuleParamSpec("prefix", .string), ModuleParamSpec("prefix_file", .string)],
                functions: [echo],
                checkParams: { ctx in
                    var prefix = ""
                    for e in ctx.entries {
                        switch e.param {
                        case "prefix":
                            if !prefix.isEmpty { ctx.warning("prefix again after '\(prefix)'", at: e.location) }
                            prefix += e.value.text
                        default:
                            guard let text = ctx.readFile(e.value.text) else {
                                ctx.error("cannot read \(e.value.text)", at: e.location)
                                continue
                            }
                            ctx.addSource(text, file: e.value.text)
                            if text.contains("!") {
                                ctx.error("no '!' here", at: SourceLocation(file: e.value.text, line: 1, column: 1))
                            }
                            prefix += text
                        }
                    }
                    ctx.derived = prefix
                }))
        return r
    }

    static func load(_ text: String, files: [String: String] = [:]) -> ScriptLoader.Result {
        ScriptLoader(registry: registry(), readFile: { files[$0] }).load(
            text: "loadmodule \"echo.so\"\nloadmodule \"pv.so\"\n" + text, name: "t.cfg")
    }

    @Test func outputArgumentsAreWrittenAndRawOnesKeptAsWritten() throws {
        let r = Self.load(
            """
            modparam("echo", "prefix", "P:")
            modparam("echo", "prefix_file", "p.txt")
            request_route {
                echo("a $fU", "$avp(x)");
                echo("b", "$fU $5", $var(y));
                trace("$avp(x)|$var(y)");
            }
            """, files: ["p.txt": "F:"])
        let program = try #require(r.program, "\(r.diagnostics.rendered())")
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        _ = program.runRequestRoute(&ctx)
        #expect(host.trace == ["P:F:a alice|P:F:b$fU $5"])
    }

    @Test func badOutputsAndParameterFindingsHavePlaces() {
        let r = Self.load(
            """
            modparam("echo", "prefix", "A")
            modparam("echo", "prefix", "B")
            modparam("echo", "prefix_file", "bang.txt")
            request_route {
                echo("a", "$fU");
                echo("a", "plain");
                echo("a", "$(avp(x){s.len})");
            }
            """, files: ["bang.txt": "oh!"])
        let found = r.diagnostics.items.map(\.description)
        #expect(
            found == [
                "t.cfg:4:28: warning: prefix again after 'A'",
                // Inside a quoted argument the column is the variable's own `$`.
                "t.cfg:7:16: error: $fU is read-only",
                "t.cfg:8:15: error: argument 2 of echo must be the variable to write to, found \"plain\"",
                "t.cfg:9:16: error: cannot assign to a transformed variable $(avp(x){s.len})",
                "bang.txt:1:1: error: no '!' here",
            ], "\(found)")
        #expect(r.diagnostics.rendered().contains("bang.txt:1:1: error: no '!' here\n    oh!\n    ^\n"))
    }
}

extension ConfigValue {
    var text: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}
