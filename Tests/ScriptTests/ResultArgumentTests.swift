import Script
import Testing

/// `.variable` arguments: the variable a function writes its result to, given as Kamailio
/// gives it (`"$var(x)"`) or bare (`$var(x)`), checked at load time.
struct ResultArgumentTests {
    /// The test registry plus `store(value, result)`, which writes its first argument (and
    /// appends what the result held before to the trace).
    static func registry() -> ScriptRegistry {
        var r = TestRegistry.make()
        r.register(coreFunction: FunctionSpec("store", args: [.string, .variable]) { ctx, args in
            ctx.test.trace.append("before \(args.value(1, &ctx))")
            return args.assign(1, .string(args.string(0, &ctx)), &ctx) ? 1 : -1
        })
        return r
    }

    func load(_ body: String) -> ScriptLoader.Result {
        ScriptLoader(registry: Self.registry(), readFile: { _ in nil })
            .load(text: "loadmodule \"pv.so\"\nloadmodule \"htable.so\"\nrequest_route {\n\(body)\n}\n", name: "t.cfg")
    }

    @Test func writesEachSpellingOfAVariable() throws {
        let r = load("""
            $var(x) = "old";
            store("one", "$var(x)");
            store("two", $var(y));
            store("three", "$avp(a)");
            store("four", "$sht(t=>k)");
            trace("$var(x) $var(y) $avp(a) $sht(t=>k)");
            """)
        let program = try #require(r.program, "\(r.diagnostics.rendered())")
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        _ = program.runRequestRoute(&ctx)
        #expect(host.trace == ["before old", "before <null>", "before <null>", "before <null>", "one two three four"])
    }

    @Test func anythingButOneWritableVariableIsALoadError() {
        let cases: [(String, String)] = [
            ("store(\"v\", \"x\");", "t.cfg:4:12: error: argument 2 of store must be the variable to write to, found \"x\""),
            ("store(\"v\", \"$var(x) \");", "t.cfg:4:12: error: argument 2 of store must be the variable to write to, found \"$var(x) \""),
            ("store(\"v\", \"$fU\");", "t.cfg:4:13: error: $fU is read-only"),
            ("store(\"v\", \"$(var(x){s.len})\");", "t.cfg:4:13: error: cannot assign to a transformed variable $(var(x){s.len})"),
            ("store(\"v\", 5);", "t.cfg:4:12: error: argument 2 of store must be the variable to write to"),
            ("store(\"v\", \"$nosuch(x)\");", "t.cfg:4:13: error: unknown variable $nosuch"),
        ]
        for (body, want) in cases {
            let r = load(body)
            #expect(r.program == nil, "\(body)")
            #expect(r.diagnostics.items.map(\.description) == [want], "\(body)")
        }
    }
}
