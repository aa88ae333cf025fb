import Script
import Testing

@testable import Runtime

/// http_client at load time: the connection table its parameters make, and the errors and
/// warnings (with file:line:column) a config gets.
@Suite struct HTTPClientConfigTests {
    static let head = """
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "http_client.so"

        """

    /// Loads `text` (after `head`), with `files` readable by name.
    static func load(_ text: String, files: [String: String] = [:]) -> ScriptLoader.Result {
        let loader = ScriptLoader(registry: RuntimeRegistry.make(), readFile: { files[$0] })
        return loader.load(text: head + text, name: "t.cfg")
    }

    static func connections(_ result: ScriptLoader.Result) -> [String: HTTPConnection] {
        result.program.map { HTTPClientConfig.of($0.settings).connections } ?? [:]
    }

    /// `(line:column, severity, message)` of every diagnostic, for one-line expectations.
    static func found(_ result: ScriptLoader.Result) -> [String] {
        result.diagnostics.items.map {
            "\($0.location.line):\($0.location.column) \($0.severity.rawValue): \($0.message)"
        }
    }

    @Test func connectionsTakeTheParametersSetAboveThem() throws {
        let r = Self.load(
            """
            modparam("http_client", "connection_timeout", 2)
            modparam("http_client", "httpcon", "a=>http://user:secret@127.0.0.1:8080/api;maxdatasize=10;failover=b")
            modparam("http_client", "httpredirect", 1)
            modparam("http_client", "httpcon", "b=>https://example.com;timeout=7;useragent=UA;verify_host=0;tlsversion=6")
            modparam("http_client", "cacert", "/etc/ca.pem")
            request_route { exit; }
            """)
        let c = Self.connections(r)
        let a = try #require(c["a"], "\(Self.found(r))")
        #expect(a.url == "http://127.0.0.1:8080/api" && a.username == "user" && a.password == "secret")
        #expect(a.settings.timeoutSeconds == 2 && a.settings.maxDataSize == 10 && !a.settings.followRedirects)
        #expect(a.failover == "b")
        // cacert belongs to the module, not to a connection: it applies wherever it is written.
        #expect(a.settings.tls.caCertFile == "/etc/ca.pem")
        #expect(!Self.found(r).contains { $0.contains("'cacert'") }, "\(Self.found(r))")
        let b = try #require(c["b"])
        #expect(b.settings.followRedirects && b.settings.timeoutSeconds == 7 && b.settings.userAgent == "UA")
        #expect(b.settings.tls.verifyHost == 0 && b.settings.tls.version == 6)
        // The redirect default came after connection a: Kamailio ignores it there; so do we, and say so.
        #expect(
            Self.found(r).contains {
                $0.hasPrefix("6:41 warning: 'httpredirect' is set after the httpcon at t.cfg:5:36")
            }, "\(Self.found(r))")
        #expect(
            a.url(appending: "x") == "http://127.0.0.1:8080/api/x"
                && a.url(appending: "/x?k=1") == "http://127.0.0.1:8080/api/x?k=1")
    }

    @Test func badConnectionsAreLoadErrors() {
        let cases: [(String, String)] = [
            (
                #"modparam("http_client", "httpcon", "a=>htp://127.0.0.1")"#,
                "4:36 error: parameter 'httpcon' of module 'http_client': connection 'a': 'htp://127.0.0.1': only http and https URLs can be requested, not htp"
            ),
            (#"modparam("http_client", "httpcon", "a=>127.0.0.1:80")"#, "connection 'a': '127.0.0.1:80' has no scheme"),
            (
                #"modparam("http_client", "httpcon", "a=>http://h;keep_connections=1")"#,
                "unknown parameter 'keep_connections'"
            ),
            (
                #"modparam("http_client", "httpcon", "a=>http://h;timeout=soon")"#,
                "timeout must be between 0 and 86400, got 'soon'"
            ),
            (#"modparam("http_client", "httpcon", "noarrow")"#, "expected name=>url"),
            ("modparam(\"http_client\", \"httpcon\", \"a=>http://h;failover=z\")", "failover 'z' is not a connection"),
            (
                "modparam(\"http_client\", \"httpcon\", \"a=>http://h\")\nmodparam(\"http_client\", \"httpcon\", \"a=>http://i\")",
                "5:36 error: connection 'a' is defined twice (first at t.cfg:4:36)"
            ),
            (#"modparam("http_client", "verify_host", 3)"#, "must be between 0 and 2"),
        ]
        for (line, needle) in cases {
            let r = Self.load(line + "\nrequest_route { exit; }\n")
            #expect(r.program == nil, "\(line)")
            #expect(Self.found(r).contains { $0.contains(needle) }, "\(line): \(Self.found(r))")
        }
    }

    @Test func literalArgumentsAreCheckedAtLoad() {
        let con = "modparam(\"http_client\", \"httpcon\", \"web=>http://127.0.0.1:80\")\n"
        let cases: [(String, String)] = [
            (
                #"http_connect("nope", "/x", "$var(r)");"#,
                "6:18 error: no http_client connection named 'nope' (defined: web)"
            ),
            (#"http_connect("web", "/a b", "$var(r)");"#, "6:25 error: 'http://127.0.0.1:80/a b' is not a valid URL"),
            (
                #"http_connect("web", "/x", "text/plain", "$var(r)");"#,
                "http_connect takes 3 arguments (connection, url, result) or 5"
            ),
            (#"http_connect("web", "/x", "$ci");"#, "$ci is read-only"),
            (#"http_connect("web", "/x", "result");"#, "argument 3 of http_connect must be the variable to write to"),
            (
                #"http_client_query("ftp://127.0.0.1/x", "$var(r)");"#,
                "6:23 error: 'ftp://127.0.0.1/x': only http and https URLs can be requested, not ftp"
            ),
            (
                #"http_client_get("nothing", "", "", "$var(r)");"#,
                "6:21 error: 'nothing' has no scheme (http:// or https://)"
            ),
            (#"http_get_redirect("nope", "$var(r)");"#, "no http_client connection named 'nope'"),
            (#"http_connect_raw("web", "/x", "text/plain", "$var(r)");"#, "http_connect_raw takes 5 arguments, got 4"),
        ]
        for (call, needle) in cases {
            let r = Self.load(con + "request_route {\n    \(call)\n}\n")
            #expect(r.program == nil, "\(call)")
            #expect(Self.found(r).contains { $0.contains(needle) }, "\(call): \(Self.found(r))")
        }
        // Variables are only known at run time: the same calls load.
        let ok = Self.load(
            con + """
                loadmodule "xlog.so"
                request_route {
                    $var(c) = "nope";
                    http_connect("$var(c)", "/$rU", "$avp(r)");
                    http_connect("web", "/x", $null, $null, "$var(r)");
                    http_connect_raw("web", "/x", "text/plain", "{\\"cost\\": $5}", "$var(r)");
                    http_client_query("$var(url)", "a=1", "X-A: 1", "$var(r)");
                    http_client_query("http://127.0.0.1/$rU", $var(r));
                    xlog("$curlerror(28) $curlerror($var(rc)) $curlredirect\\n");
                }
                """)
        #expect(ok.program != nil, "\(Self.found(ok))")
    }

    @Test func whatLibcurlCannotDoIsAWarning() {
        let r = Self.load(
            """
            modparam("http_client", "tlsversion", 2)
            modparam("http_client", "httpcon", "a=>https://h;tlsversion=3")
            request_route { exit; }
            """)
        #expect(r.program != nil)
        let found = Self.found(r)
        #expect(found.contains { $0.hasPrefix("4:39 warning: tlsversion 2 (SSLv2)") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("5:36 warning: connection 'a': tlsversion 3 (SSLv3)") }, "\(found)")
    }

    @Test func connectionsFile() throws {
        let file = """
            # the API
            [api]
            url = http://127.0.0.1:9000/v1
            timeout = 3
            keep_connections = yes
            tlsversion = TLSv1.2
            client_cert = certs/c.pem
            username = "u"
            password = ""

            [other]
            url = "https://example.com"
            http_follow_redirect = yes
            failover = api
            """
        let r = Self.load(
            "modparam(\"http_client\", \"config_file\", \"conns.cfg\")\nrequest_route { exit; }\n",
            files: ["conns.cfg": file])
        let c = Self.connections(r)
        let api = try #require(c["api"], "\(Self.found(r))")
        #expect(
            api.url == "http://127.0.0.1:9000/v1" && api.settings.timeoutSeconds == 3 && api.settings.keepConnections)
        #expect(api.settings.tls.version == 6 && api.settings.tls.clientCert == "certs/c.pem")
        #expect(api.username == "u" && api.password == nil)
        let other = try #require(c["other"])
        #expect(other.url == "https://example.com" && other.settings.followRedirects && other.failover == "api")

        let bad = Self.load(
            "modparam(\"http_client\", \"config_file\", \"conns.cfg\")\nrequest_route { exit; }\n",
            files: ["conns.cfg": "[a]\nurl = http://h\n  colour = red\n[b]\ntimeout = 2\nverify_peer = maybe\n"])
        let found = Self.found(bad)
        #expect(bad.program == nil)
        #expect(found.contains { $0.hasPrefix("3:3 error: unknown key 'colour'") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("4:1 error: connection 'b' has no url") }, "\(found)")
        #expect(
            found.contains { $0.hasPrefix("6:15 error: verify_peer must be between 0 and 1, got 'maybe'") }, "\(found)")
        #expect(bad.diagnostics.items.allSatisfy { $0.location.file == "conns.cfg" }, "\(found)")
        let missing = Self.load("modparam(\"http_client\", \"config_file\", \"none.cfg\")\nrequest_route { exit; }\n")
        #expect(
            Self.found(missing).contains { $0.hasPrefix("4:40 error: cannot read the connections file 'none.cfg'") },
            "\(Self.found(missing))")
    }

    @Test func urls() {
        #expect(HTTPURL.problem("http://127.0.0.1:80/x?y=1") == nil)
        #expect(HTTPURL.problem("https://example.com") == nil)
        #expect(HTTPURL.problem("http://") != nil)
        #expect(HTTPURL.problem("foo://bar") != nil)
        #expect(HTTPURL.join("http://h/a/", "/b") == "http://h/a/b")
        #expect(HTTPURL.join("http://h/a", "b") == "http://h/a/b")
        #expect(HTTPURL.join("http://h/a", "") == "http://h/a")
        let c = HTTPURL.credentials(of: "http://a:b:c@h:1/p@q")
        #expect(c.url == "http://h:1/p@q" && c.user == "a" && c.password == "b:c")
        #expect(HTTPURL.credentials(of: "http://h/p").user == nil)
    }
}
