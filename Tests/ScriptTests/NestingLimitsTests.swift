import Foundation
@testable import Script
import Testing

/// Configs built to overflow the stack (issue 15): nesting in the parser, the resolver and the
/// interpreter, variable names within names, defines and includes. Each must end in one
/// `file:line:column` error (or, at run time, one logged error), not a crash.
struct NestingLimitsTests {
    private func load(_ text: String, files: [String: String] = [:]) -> ScriptLoader.Result {
        let loader = ScriptLoader(registry: TestRegistry.make(), readFile: { files[$0] })
        return loader.load(text: text, name: "t.cfg")
    }

    private static let tooDeep = "nesting deeper than \(ScriptLimits.maxNesting) levels"

    private func messages(_ r: ScriptLoader.Result) -> [String] { r.diagnostics.items.map(\.description) }

    @Test func tenThousandNestedIfsGiveOneError() {
        let n = 10_000
        let text = "request_route {\n" + String(repeating: "if (1) {\n", count: n)
            + String(repeating: "}\n", count: n) + "}\n"
        let r = load(text)
        #expect(r.program == nil)
        // Line 1 opens the route; the if on line 257 is at level 256, and its condition would
        // be at 257.
        #expect(messages(r) == ["t.cfg:\(ScriptLimits.maxNesting + 1):5: error: \(Self.tooDeep)"])
    }

    @Test func fiveThousandNestedParenthesesGiveOneError() {
        let n = 5_000
        let text = "request_route {\n    $var(x) = " + String(repeating: "(", count: n) + "1"
            + String(repeating: ")", count: n) + ";\n    exit;\n}\n"
        let r = load(text)
        #expect(r.program == nil)
        let items = messages(r)
        #expect(items.count == 1)
        #expect(items.first?.hasPrefix("t.cfg:2:") == true)
        #expect(items.first?.hasSuffix("error: \(Self.tooDeep)") == true)
    }

    @Test func longOperatorChainsAndUnaryRunsAreBounded() {
        // A chain is a loop in the parser but a tree as deep as it is long.
        let chain = "request_route {\n    $var(x) = 1" + String(repeating: " + 1", count: 100_000) + ";\n}\n"
        let unary = "request_route {\n    $var(x) = " + String(repeating: "!", count: 20_000) + "1;\n}\n"
        let calls = "request_route {\n    " + String(repeating: "ret(", count: 5_000) + "1"
            + String(repeating: ")", count: 5_000) + ";\n}\n"
        for text in [chain, unary, calls] {
            let r = load(text)
            #expect(r.program == nil)
            #expect(r.diagnostics.items.map(\.message) == [Self.tooDeep])
            #expect(r.diagnostics.items.first?.location.line == 2)
        }
    }

    @Test func theLimitIsExact() {
        // Route bodies hold level 1: n blocks around `exit;` put it at level n + 1.
        func blocks(_ n: Int) -> String {
            "request_route {\n" + String(repeating: "{ ", count: n) + "exit;" + String(repeating: " }", count: n) + "\n}\n"
        }
        #expect(load(blocks(ScriptLimits.maxNesting - 1)).diagnostics.items.isEmpty)
        #expect(load(blocks(ScriptLimits.maxNesting)).diagnostics.items.map(\.message) == [Self.tooDeep])
        // Level 1 is the statement, level 2 the expression: 254 parentheses fit, 255 do not.
        func parens(_ n: Int) -> String {
            "request_route {\n$var(x) = " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + ";\n}\n"
        }
        #expect(load(parens(ScriptLimits.maxNesting - 2)).diagnostics.items.isEmpty)
        #expect(load(parens(ScriptLimits.maxNesting - 1)).diagnostics.items.map(\.message) == [Self.tooDeep])
    }

    @Test func aTooDeepIfIsSkippedWithItsElseChain() {
        // 300 `else if`s nest 300 deep; one error, not one per `else` left over.
        let text = "request_route {\n    if (1) { exit; }" + String(repeating: " else if (1) { exit; }", count: 300)
            + " else { exit; }\n    trace(\"after\");\n}\nroute[R] { nosuch(); }\n"
        let r = load(text)
        #expect(r.diagnostics.items.map(\.message) == [Self.tooDeep, "unknown function 'nosuch'"])
    }

    @Test func theDeepestAcceptedRouteRuns() throws {
        // The innermost call sits at level 254 and its tree is 2 deep (call, argument).
        let n = ScriptLimits.maxNesting - 3
        let text = "request_route {\n" + String(repeating: "if (1) {\n", count: n) + "trace(\"deep\");\n"
            + String(repeating: "}\n", count: n) + "}\n"
        let r = load(text)
        #expect(r.diagnostics.items.isEmpty)
        let program = try #require(r.program)
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        #expect(program.runRequestRoute(&ctx) == .next)
        #expect(host.trace == ["deep"])
    }

    @Test func variableNamesNestedTooDeeplyGiveOneError() {
        let n = 3_000
        let name = String(repeating: "$sht(t=>", count: n) + "k" + String(repeating: ")", count: n)
        let text = "loadmodule \"htable.so\"\nloadmodule \"xlog.so\"\nrequest_route {\n    $var(x) = \(name);\n    xlog(\"\(name)\");\n}\n"
        let r = load(text)
        #expect(r.program == nil)
        #expect(r.diagnostics.items.map(\.message) == [String](
            repeating: "variables nested deeper than \(ScriptLimits.maxVariableNesting) levels in a name", count: 2))
    }

    // MARK: the interpreter

    @Test func aRouteCallingItselfForeverStopsWithAnError() throws {
        let r = load("request_route {\n    route(A);\n    trace(\"back\");\n}\nroute[A] {\n    $var(n) = $var(n) + 1;\n    route(A);\n}\n")
        let program = try #require(r.program)
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        var logged: [String] = []
        ctx.log = { _, message in logged.append(message) }
        #expect(program.runRequestRoute(&ctx) == .next)
        #expect(host.trace == ["back"])
        #expect(logged.count == 1)
        #expect(logged.first?.hasPrefix("route[A] not run: routes nested more than \(ScriptLimits.maxRunNesting) levels") == true)
        // Each level of route[A] counts its own nesting (3: statement, +, $var) and one more.
        let depth = try #require(ctx.localVariables.first?.intValue)
        #expect(depth > ScriptLimits.maxRunNesting / 5 && depth < ScriptLimits.maxRunNesting / 3)
        // The next message starts from nothing again.
        logged = []
        _ = program.runRequestRoute(&ctx)
        #expect(logged.count == 1)
    }

    @Test func deepRoutesCallingThemselvesStayWithinTheStack() throws {
        // The worst case the limits allow: routes as deep as the parser accepts, each calling
        // the next from its innermost block, until the interpreter's budget runs out.
        let n = ScriptLimits.maxNesting - 4
        let body = String(repeating: "if (1) {\n", count: n) + "$var(n) = $var(n) + 1; route(D);\n"
            + String(repeating: "}\n", count: n)
        let r = load("request_route {\n    route(D);\n    trace(\"back\");\n}\nroute[D] {\n\(body)}\n")
        let program = try #require(r.program)
        let host = TestHost()
        var ctx = program.makeContext(host: host)
        var logged: [String] = []
        ctx.log = { _, message in logged.append(message) }
        _ = program.runRequestRoute(&ctx)
        #expect(host.trace == ["back"])
        #expect(logged.count == 1)
        // The first route[D] and one more like it ran.
        #expect(ctx.localVariables.first?.intValue == 2)
    }

    // MARK: the preprocessor

    @Test func definesThatDoubleStopAtTheExpansionLimit() {
        // 2^20 tokens, one use.
        let n = 20
        var text = ""
        for i in 0..<n { text += "#!define D\(i) D\(i + 1) D\(i + 1)\n" }
        text += "#!define D\(n) 1\nrequest_route {\n    $var(x) = D0;\n}\n"
        let r = load(text)
        #expect(r.program == nil)
        #expect(r.diagnostics.items.first?.description
            == "t.cfg:\(n + 3):15: error: 'D0' expands to more than \(ScriptLimits.maxDefineExpansion) tokens")
        #expect(r.diagnostics.items.count <= 2)
    }

    @Test func aDefineUsingItselfIsReportedOnce() {
        let r = load("#!define A A A\nrequest_route {\n    $var(x) = A;\n}\n")
        #expect(r.diagnostics.items.map(\.message).filter { $0.contains("defined in terms of itself") }.count == 1)
    }

    @Test func includesNestAtMostTheLimit() {
        // Each file includes the next; and a file including itself by a longer path each time.
        var files: [String: String] = [:]
        for i in 0..<30 { files["f\(i).cfg"] = "include_file \"f\(i + 1).cfg\"\n" }
        files["f30.cfg"] = ""
        let r = load("include_file \"f0.cfg\"\nrequest_route { exit; }\n", files: files)
        #expect(r.diagnostics.items.map(\.message) == ["includes nested deeper than \(ScriptLimits.maxIncludeDepth) levels: 'f10.cfg' not read"])
        let loader = ScriptLoader(registry: TestRegistry.make(), readFile: { path in
            path.hasSuffix("d/self.cfg") ? "include_file \"../d/self.cfg\"\n" : nil
        })
        let s = loader.load(text: "include_file \"d/self.cfg\"\nrequest_route { exit; }\n", name: "t.cfg")
        #expect(s.diagnostics.items.count == 1)
        #expect(s.diagnostics.items.first?.message.hasPrefix("includes nested deeper than") == true)
    }
}
