import Foundation
@testable import Script
import Testing

struct ScriptUnitTests {
    private func load(_ text: String, files: [String: String] = [:], defines: [String: String] = [:]) -> ScriptLoader.Result {
        let loader = ScriptLoader(registry: TestRegistry.make(), defines: defines, readFile: { files[$0] })
        return loader.load(text: text, name: "t.cfg")
    }

    @Test func diagnosticsQuoteTheOffendingLine() {
        let r = load("request_route {\n\tfoo(1);\n}\n")
        #expect(r.program == nil)
        let text = r.diagnostics.rendered()
        #expect(text == "t.cfg:2:2: error: unknown function 'foo'\n    \tfoo(1);\n    \t^\n")
    }

    @Test func variableSpellings() {
        var p = VariableParser(text: "$(sht(t=>$ci)[1]{s.substr,1,2}{s.len})", location: SourceLocation(file: "x", line: 1, column: 1))
        let v = p.parse()
        #expect(v?.className == "sht")
        #expect(v?.inner == "t=>$ci")
        #expect(v?.index == .at(1))
        #expect(v?.transforms.map(\.name) == ["s.substr", "s.len"])
        #expect(v?.transforms.first?.params == ["1", "2"])
        var q = VariableParser(text: "$hdr(Via)[*]", location: SourceLocation(file: "x", line: 1, column: 1))
        #expect(q.parse()?.index == .all)
        var d = VariableParser(text: "$(ulc(p=>addr)[$var(i)])", location: SourceLocation(file: "x", line: 1, column: 1))
        #expect(d.parse()?.index == .dynamic("$var(i)"))
    }

    @Test func lexerKeepsLocationsThroughDefines() {
        let r = load("#!define F nosuch\nrequest_route {\n  F(1);\n}\n")
        #expect(r.diagnostics.items.map(\.description) == ["t.cfg:3:3: error: unknown function 'nosuch'"])
    }

    @Test func includesAreReadRelativeToTheIncludingFile() {
        let files = ["dir/a.cfg": "include_file \"b.inc\"\n", "dir/b.inc": "route[B] { trace(\"b\"); }\n"]
        let loader = ScriptLoader(registry: TestRegistry.make(), readFile: { files[$0] ?? ($0 == "main.cfg" ? "include_file \"dir/a.cfg\"\nrequest_route { route(B); }\n" : nil) })
        let r = loader.load(path: "main.cfg")
        #expect(r.diagnostics.items.isEmpty)
        #expect(r.program?.routeIndex("B", in: .route) != nil)
    }

    @Test func resumePointsAreCheckedAndRunOnlyTheRest() throws {
        let r = load("request_route { trace(\"a\"); trace(\"b\"); trace(\"c\"); }\n")
        let program = try #require(r.program)
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        let block = program.routes[program.requestRoute!].block
        #expect(program.actionCount(ofBlock: block) == 3)
        #expect(program.run(from: ResumePoint(block: Int32(block), action: 2), &ctx) == .next)
        #expect(host.trace == ["c"])
        #expect(program.run(from: ResumePoint(block: 999, action: 0), &ctx) == .exit)
    }

    @Test func varsPersistPerContextAndFlagsAreABitmask() throws {
        let r = load("request_route { $var(n) = $var(n) + 1; setflag(63); }\n")
        let program = try #require(r.program)
        var ctx = program.makeContext(host: TestHost())
        _ = program.runRequestRoute(&ctx)
        _ = program.runRequestRoute(&ctx)
        #expect(ctx.localVariables == [.int(2)])
        #expect(ctx.flags == 1 << 63)
    }

    @Test func coreParametersAndDefaultsReachSettings() throws {
        let r = load("listen=udp:127.0.0.1:5060\nlisten=udp:127.0.0.1:5070 \nchildren=2\nlog_stderror=yes\nrequest_route { exit; }\n")
        let program = try #require(r.program)
        #expect(program.settings.core["listen"] == [.string("udp:127.0.0.1:5060"), .string("udp:127.0.0.1:5070")])
        #expect(program.settings.coreInt("children") == 2)
        #expect(program.settings.coreInt("log_stderror") == 1)
        #expect(program.settings.coreInt("async_workers") == 0)
    }

    @Test func md5MatchesKnownVectors() {
        #expect(MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5.hex(Array(String(repeating: "a", count: 100).utf8)) == "36a92cc94a9e0fa21f625f8bfb007adf")
    }

    /// Every prefix of a real config must load or fail with diagnostics, never crash.
    @Test func truncatedConfigsNeverCrash() throws {
        let path = GoldenTests.directory + "async_doc.cfg"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let chars = Array(text)
        for n in stride(from: 0, to: chars.count, by: 7) {
            _ = load(String(chars[0..<n]))
        }
    }

    /// Not a timing assertion: prints what a short route costs, for the record.
    @Test func shortRouteCost() throws {
        let r = load("""
        loadmodule "sl.so"
        request_route {
            if ($var(n) > 100 && !isflagset(1)) { $var(n) = 0; }
            $var(n) = $var(n) + 1;
            if (ret(1)) { sl_send_reply(200, "OK"); }
            exit;
        }
        """)
        let program = try #require(r.program)
        var ctx = program.makeContext(host: TestHost())
        let n = 200_000
        let start = ContinuousClock.now
        for _ in 0..<n { _ = program.runRequestRoute(&ctx) }
        let elapsed = ContinuousClock.now - start
        print("short route: \(elapsed / n) per run (debug build)")
        (ctx.host as! TestHost).trace.removeAll()
    }
}
