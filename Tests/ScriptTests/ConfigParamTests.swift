import Script
import Testing

/// Module parameters given to several modules by a regular expression, boolean words as
/// numbers, and the core parameters that load with a warning (features Respite lacks).
struct ConfigParamTests {
    func load(_ text: String) -> ScriptLoader.Result {
        ScriptLoader(registry: TestRegistry.make()).load(text: text)
    }

    func messages(_ r: ScriptLoader.Result) -> [String] {
        r.diagnostics.items.map { $0.description }
    }

    @Test func aRegexModuleNameSetsEveryLoadedModuleThatMatches() throws {
        let r = load("""
            loadmodule "tm.so"
            loadmodule "tmx.so"
            loadmodule "sl.so"
            modparam("t.|tm", "fr_timer", 5000)
            modparam("TM", "fr_inv_timer", 9000)
            request_route { exit; }
            """)
        // "t.|tm" matches tm only: tmx is three letters and the match is the whole name.
        let program = try #require(r.program, "\(messages(r))")
        #expect(program.settings.modparamInt("tm", "fr_timer") == 5000)
        #expect(program.settings.modparamInt("tm", "fr_inv_timer") == 9000)
    }

    @Test func everyMatchingModuleMustHaveTheParameter() {
        let r = load("""
            loadmodule "tm.so"
            loadmodule "tmx.so"
            modparam("tm.*", "fr_timer", 5000)
            modparam("xx|yy", "fr_timer", 1)
            request_route { exit; }
            """)
        #expect(r.program == nil)
        let text = messages(r).joined(separator: "\n")
        #expect(text.contains("module 'tmx' has no parameter 'fr_timer'"))
        #expect(text.contains("no loaded module matches 'xx|yy'"))
    }

    @Test func booleanWordsAreNumbers() throws {
        let r = load("""
            loadmodule "tm.so"
            max_while_loops=yes
            modparam("tm", "fr_timer", off)
            request_route { if (on && !no) exit; }
            """)
        let program = try #require(r.program, "\(messages(r))")
        #expect(program.settings.coreInt("max_while_loops") == 1)
        #expect(program.settings.modparamInt("tm", "fr_timer") == 0)
    }

    @Test func featureParametersLoadWithOneWarningEach() throws {
        let r = load("""
            enable_sctp=no
            enable_tls=yes
            tls_max_connections=2048
            server_id=3
            request_route { exit; }
            """)
        _ = try #require(r.program, "\(messages(r))")
        let warnings = r.diagnostics.items.filter { $0.severity == .warning }.map { $0.description }
        #expect(warnings.count == 4)
        #expect(warnings.first?.contains("core parameter 'enable_sctp' has no effect: Respite has no SCTP transport") == true)
        #expect(warnings[2].contains("'tls_max_connections' has no effect: Respite has no TLS transport"))
        #expect(warnings.last?.contains("'server_id' has no effect: Respite has no Via server ids") == true)
    }
}
