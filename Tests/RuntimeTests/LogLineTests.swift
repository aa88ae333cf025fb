import Foundation
import Testing
@testable import Runtime

/// The two log line formats: Kamailio's text shape and one JSON object a line.
struct LogLineTests {
    let line = LogLine(level: .warning, module: "core", file: "Runtime/Master.swift", line: 42,
                       function: "reap(_:)", message: "tab\there \"quoted\" \\ back\u{1}slash é")

    @Test func textLinesHaveKamailiosShape() {
        #expect(line.text == "WARNING: <core> [Runtime/Master.swift:42]: reap(): tab\there \"quoted\" \\ back\u{1}slash é")
        var module = line
        module.module = "tm"
        #expect(module.text.hasPrefix("WARNING: tm [Runtime/Master.swift:42]: reap(): "))
        var script = line
        script.module = "<script>"
        script.message = "hello"
        #expect(script.text == "WARNING: <script>: hello")
    }

    @Test func jsonLinesParseBackToTheSameFields() throws {
        let text = line.json(slot: 3, pid: 1234)
        #expect(!text.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["idx"] as? Int == 3 && object["pid"] as? Int == 1234)
        #expect(object["level"] as? String == "WARNING" && object["module"] as? String == "core")
        #expect(object["file"] as? String == "Runtime/Master.swift" && object["line"] as? Int == 42)
        #expect(object["function"] as? String == "reap")
        #expect(object["message"] as? String == line.message)
        var script = line
        script.module = "<script>"
        let scriptObject = try #require(try JSONSerialization.jsonObject(with: Data(script.json(slot: 1, pid: 5).utf8)) as? [String: Any])
        #expect(scriptObject["file"] == nil && scriptObject["module"] as? String == "<script>")
    }

    @Test func logEngineNames() {
        #expect(LogFormat(engineType: "json") == .json && LogFormat(engineType: "JSON") == .json)
        #expect(LogFormat(engineType: "") == .text && LogFormat(engineType: "text") == .text)
        #expect(LogFormat(engineType: "syslog-ng") == nil)
    }
}
