import Foundation
import SIP
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The jansson module end to end: a server whose script reads and builds JSON answers
/// OPTIONS with what it found in the reply's reason. The same config gives the same
/// reasons on Kamailio 5.6.3 (where results differ, the test says why).
@Suite(.serialized) struct JanssonTests {
    static let config = """
    #!KAMAILIO
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    loadmodule "jansson.so"
    request_route {
        $var(doc) = '{"user":{"name":"alice","tags":["red","blue"],"age":42,"ratio":0.5,"ok":true,"off":false,"none":null,"big":4294967296,"addr":{"city":"Oslo"}}}';
        if ($rU == "nested") {
            jansson_get("user.name", $var(doc), "$var(name)");
            jansson_get("user.addr.city", $var(doc), "$var(city)");
            jansson_get("user.tags[1]", $var(doc), "$var(tag)");
            jansson_get("user.tags", $var(doc), "$var(tags)");
            jansson_get_field($var(doc), "user.addr", "$var(addr)");
            sl_send_reply("200", "name=$var(name) city=$var(city) tag=$var(tag) tags=$var(tags) addr=$var(addr)");
            exit;
        }
        if ($rU == "types") {
            jansson_get("user.age", $var(doc), "$var(age)");
            $var(age) = $var(age) + 1;
            jansson_get("user.ratio", $var(doc), "$var(ratio)");
            jansson_get("user.ok", $var(doc), "$var(ok)");
            jansson_get("user.off", $var(doc), "$var(off)");
            jansson_get("user.big", $var(doc), "$var(big)");
            $var(big) = $var(big) + 1;
            $avp(n) = "before";
            jansson_get("user.none", $var(doc), "$avp(n)");
            if ($avp(n) == $null) { $var(n) = "deleted"; } else { $var(n) = $avp(n); }
            sl_send_reply("200", "age=$var(age) ratio=$var(ratio) ok=$var(ok) off=$var(off) big=$var(big) none=$var(n)");
            exit;
        }
        if ($rU == "missing") {
            $var(r) = "kept";
            $var(rc) = "true";
            $var(rc2) = "true";
            $var(rc3) = "true";
            if (!jansson_get("user.nope", $var(doc), "$var(r)")) { $var(rc) = "false"; }
            if (!jansson_get("user.tags[2]", $var(doc), "$var(r)")) { $var(rc2) = "false"; }
            if (!jansson_array_size("user.name", $var(doc), "$var(r)")) { $var(rc3) = "false"; }
            sl_send_reply("200", "rc=$var(rc) rc2=$var(rc2) size=$var(rc3) r=$var(r)");
            exit;
        }
        if ($rU == "invalid") {
            $var(r) = "kept";
            $var(bad) = '{"user":';
            if (jansson_get("user", $var(bad), "$var(r)")) { $var(rc) = "true"; } else { $var(rc) = "false"; }
            if (jansson_get("a", "$hdr(X-Json)", "$var(r)")) { $var(rc2) = "true"; } else { $var(rc2) = "false"; }
            sl_send_reply("200", "rc=$var(rc) header=$var(rc2) r=$var(r)");
            exit;
        }
        if ($rU == "build") {
            $var(js) = 0;
            jansson_set("string", "mystr", "my input string", "$var(js)");
            jansson_set("integer", "count", 9000, "$var(js)");
            jansson_set("true", "mybool", 0, "$var(js)");
            jansson_set("real", "pi", "3.14159", "$var(js)");
            jansson_set("obj", "myobj", '{"foo":"bar"}', "$var(js)");
            jansson_set("str", "myobj.foo", "baz", "$var(js)");
            jansson_set("str", "a.b.c", "deep", "$var(js)");
            sl_send_reply("200", "$var(js)");
            exit;
        }
        if ($rU == "list") {
            $var(list) = '[]';
            $var(i) = 0;
            while ($var(i) < 3) {
                jansson_append("int", "", $var(i), "$var(list)");
                $var(i) = $var(i) + 1;
            }
            $var(obj) = 0;
            jansson_set("array", "list", $var(list), "$var(obj)");
            jansson_append("int", "list", 5, "$var(obj)");
            jansson_array_size("list", $var(obj), "$var(size)");
            $var(size) = $var(size) * 10;
            $var(merged) = '{"b":2, "c":3}';
            jansson_append('obj', "", '{"a":1, "b":100}', "$var(merged)");
            $var(out) = "in range";
            if (!jansson_set("str", "list[9]", "x", "$var(obj)")) { $var(out) = "out of range"; }
            sl_send_reply("200", "obj=$var(obj) size=$var(size) merged=$var(merged) list[9]=$var(out)");
            exit;
        }
        if ($rU == "xavp") {
            jansson_xdecode('{"a":"x","n":7,"nested":{"k":[1]}}', "js");
            $var(n) = $xavp(js=>n) + 1;
            $xavp(out=>foo) = "bar";
            $xavp(out[0]=>n) = 5;
            jansson_xencode("out", "$var(enc)");
            sl_send_reply("200", "a=$xavp(js=>a) n=$var(n) nested=$xavp(js=>nested) enc=$var(enc)");
            exit;
        }
        if ($rU == "dynamic") {
            $var(r) = "none";
            jansson_get("$hdr(X-Path)", "$hdr(X-Json)", "$var(r)");
            sl_send_reply("200", "rc=$rc r=$var(r)");
            exit;
        }
        sl_send_reply("404", "no test");
    }
    """

    static func reason(_ client: SIPTestClient, _ user: String, headers: [String] = [], _ server: ServerProcess) throws -> String {
        let reply = try #require(client.exchange(client.request("OPTIONS", user: user, headers: headers)), "\(user)\n\(server.log)")
        #expect(reply.statusCode == 200, "\(user): \(reply.statusCode) \(reply.reasonPhrase)")
        return reply.reasonPhrase
    }

    @Test func readsNestedPathsArraysAndEachType() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "nested", server)
            == #"name=alice city=Oslo tag=blue tags=["red","blue"] addr={"city":"Oslo"}"#)
        // An integer that fits 32 bits is an integer (42 + 1); a larger one is text
        // (concatenated); a real is text; null deletes the avp's value. On Kamailio the same.
        #expect(try Self.reason(client, "types", server) == "age=43 ratio=0.5 ok=1 off=0 big=42949672961 none=deleted")
    }

    @Test func missingPathsAndInvalidJSONAreFalseAndLeaveTheResult() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "missing", server) == "rc=false rc2=false size=false r=kept")
        #expect(try Self.reason(client, "invalid", headers: [#"X-Json: {"a":1,"a":2}"#], server) == "rc=false header=false r=kept")
        #expect(try Self.reason(client, "dynamic", headers: ["X-Path: a[1", #"X-Json: {"a":[1]}"#], server) == "rc=-1 r=none")
        #expect(try Self.reason(client, "dynamic", headers: ["X-Path: a[0x1]", #"X-Json: {"a":[1,"hex"]}"#], server) == "rc=1 r=hex")
        #expect(server.log.contains("jansson_get: cannot parse '{\"user\":'"), "\(server.log)")
    }

    @Test func setAppendAndArraySizeBuildDocuments() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        // Kamailio's manual example, byte for byte what Kamailio 5.6.3 builds.
        #expect(try Self.reason(client, "build", server)
            == #"{"mystr":"my input string","count":9000,"mybool":true,"pi":3.1415899999999999,"myobj":{"foo":"baz"},"a":{"b":{"c":"deep"}}}"#)
        #expect(try Self.reason(client, "list", server)
            == #"obj={"list":[0,1,2,5]} size=40 merged={"b":100,"c":3,"a":1} list[9]=out of range"#)
    }

    @Test func xavpsDecodeAndEncode() throws {
        let server = try ServerProcess(config: Self.config)
        defer { server.stop() }
        let client = try SIPTestClient(server: server.port)
        #expect(try Self.reason(client, "xavp", server) == #"a=x n=8 nested={"k":[1]} enc={"n": 5, "foo": "bar"}"#)
    }

    @Test func literalArgumentsThatCannotWorkAreLoadErrors() throws {
        let body = """
        #!KAMAILIO
        loadmodule "pv.so"
        loadmodule "jansson.so"
        request_route {
            jansson_set("boolean", "a", 1, "$var(x)");
            jansson_set("int", "a", "12abc", "$var(x)");
            jansson_get("a", '{"a":', "$var(x)");
            jansson_get("a[1", $var(d), "$var(x)");
            jansson_array_size("a[0]x", $var(d), "$var(x)");
            jansson_append("obj", "a.b", "[1]", "$var(x)");
            jansson_get("a", $var(d), "x");
            jansson_xencode("a", "$ci");
        }
        """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respite-jansson-c-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.cfg")
        try body.write(to: file, atomically: true, encoding: .utf8)
        let r = try Spawn.run(Products.path("respite"), ["-c", "-f", file.path])
        #expect(r.status == 1, "\(r.output)")
        for needle in [
            "bad.cfg:5:17: error: unknown JSON type 'boolean'",
            "bad.cfg:6:29: error: '12abc' is not an integer",
            "bad.cfg:7:22: error: invalid JSON: line 1 column 5",
            "bad.cfg:8:17: error: malformed JSON path 'a[1': '[' without ']'",
            "bad.cfg:9:24: error: path 'a[0]x' has text after its last ']'",
            "bad.cfg:10:34: error: '[1]' is not a JSON object",
            "bad.cfg:11:31: error: argument 3 of jansson_get must be the variable to write to, found \"x\"",
            "bad.cfg:12:27: error: $ci is read-only",
        ] {
            #expect(r.output.contains(needle), "\(needle)\n\(r.output)")
        }
    }
}
