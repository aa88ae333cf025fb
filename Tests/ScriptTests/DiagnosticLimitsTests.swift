import Foundation
@testable import Script
import Testing

/// Configs with mistakes by the thousand (issue 15), which used to take quadratic time to
/// report: the report must stop at `maxErrors` with one "too many errors, stopping" line, each
/// error with its `file:line:column` and its line quoted; and a long chain of routes, whose
/// route types were found in quadratic time. No test measures time: the bounded count is what
/// keeps the work linear.
struct DiagnosticLimitsTests {
    private func load(_ text: String, files: [String: String] = [:]) -> ScriptLoader.Result {
        let loader = ScriptLoader(registry: TestRegistry.make(), readFile: { files[$0] })
        return loader.load(text: text, name: "t.cfg")
    }

    private static let stop = "too many errors, stopping"

    @Test func tenThousandStrayBracesStopAfterTheErrorLimit() {
        let text = "request_route {\n}\n" + String(repeating: "}\n", count: 10_000)
        let r = load(text)
        let items = r.diagnostics.items
        #expect(items.count == ScriptLimits.maxErrors + 1)
        #expect(items.first?.description
            == "t.cfg:3:1: error: expected a core parameter, loadmodule, modparam or route block, found '}'")
        #expect(items.last?.description == "t.cfg:\(ScriptLimits.maxErrors + 3):1: error: \(Self.stop)")
        #expect(r.diagnostics.errors.count == ScriptLimits.maxErrors)
        // Every line is quoted with its caret.
        let rendered = r.diagnostics.rendered()
        #expect(rendered.components(separatedBy: "\n    }\n    ^\n").count == ScriptLimits.maxErrors + 2)
    }

    @Test(arguments: [10_000, 50_000])
    func nestedIfsOutsideARouteStopAfterTheErrorLimit(_ n: Int) {
        let text = String(repeating: "if (1) {\n", count: n) + String(repeating: "}\n", count: n)
        let r = load(text)
        let items = r.diagnostics.items
        #expect(items.count == ScriptLimits.maxErrors + 1)
        #expect(items.first?.description == "t.cfg:1:1: error: unexpected 'if' at top level")
        #expect(items.last?.description == "t.cfg:\(ScriptLimits.maxErrors + 1):1: error: \(Self.stop)")
        #expect(r.diagnostics.rendered().hasSuffix("t.cfg:\(ScriptLimits.maxErrors + 1):1: error: \(Self.stop)\n    if (1) {\n    ^\n"))
    }

    @Test func theErrorLimitCountsEveryStage() {
        // 30 lexer errors, 30 parser errors and 30 resolver errors: 50 in all, then the stop.
        let text = String(repeating: "x = \"open\n", count: 30) + String(repeating: "}\n", count: 30)
            + "request_route {\n" + String(repeating: "nosuch();\n", count: 30) + "}\n"
        let r = load(text)
        #expect(r.diagnostics.errors.count == ScriptLimits.maxErrors)
        #expect(r.diagnostics.items.last?.message == Self.stop)
        #expect(r.diagnostics.items.filter { $0.message == Self.stop }.count == 1)
    }

    @Test func warningsAreBoundedToo() throws {
        let text = String(repeating: "children=2\n", count: 1_000) + "request_route { exit; }\n"
        let r = load(text)
        #expect(r.program != nil)
        #expect(r.diagnostics.items.count == ScriptLimits.maxWarnings + 1)
        #expect(r.diagnostics.items.last?.message == "too many warnings, not showing more")
    }

    @Test func aLongChainOfRoutesGetsItsTypesEndToEnd() {
        // route[R0] calls R1 ... calls R1999, declared last first; R1999 replies, which a
        // branch route may not: the type travels the whole chain.
        let n = 2_000
        var text = "loadmodule \"sl.so\"\nrequest_route { exit; }\nbranch_route[B] { route(R0); }\n"
        for i in stride(from: n - 1, through: 0, by: -1) {
            text += i == n - 1 ? "route[R\(i)] { sl_send_reply(200, \"OK\"); }\n" : "route[R\(i)] { route(R\(i + 1)); }\n"
        }
        let r = load(text)
        #expect(r.diagnostics.items.map(\.message)
            == ["sl_send_reply cannot be used in branch_route (route[R\(n - 1)] is reached from branch_route)"])
    }

    @Test func aHundredThousandOpenIfdefsAreBounded() {
        let text = String(repeating: "#!ifdef X\n", count: 100_000) + "request_route { exit; }\n"
        let r = load(text)
        #expect(r.diagnostics.errors.count == ScriptLimits.maxErrors)
        #expect(r.diagnostics.items.last?.message == Self.stop)
    }
}
