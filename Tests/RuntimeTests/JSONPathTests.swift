import Script
import Testing
@testable import Runtime

/// The jansson module's path syntax and what reading and writing do with it, on real
/// libjansson documents. Each expectation was checked against Kamailio 5.6.3's jansson
/// module (jansson_get / jansson_set / jansson_append on the same document and path).
struct JSONPathTests {
    @Test func parsesNamesIndexesAndTheirEnds() throws {
        #expect(try JSONPath("a.b").steps == [.member("a", thenMember: true)])
        #expect(try JSONPath("a.b").end == .member("b"))
        #expect(try JSONPath("inner.deep.list[3]").steps
            == [.member("inner", thenMember: true), .member("deep", thenMember: true), .member("list", thenMember: false), .element(3)])
        #expect(try JSONPath("inner.deep.list[3]").end == .element)
        #expect(try JSONPath("[0][1].c").steps == [.element(0), .element(1)])
        #expect(try JSONPath("[0][1].c").end == .member("c"))
        #expect(try JSONPath("").steps.isEmpty)
        #expect(try JSONPath("").end == .member(""))
        #expect(try JSONPath("a.").end == .member(""))
        #expect(try JSONPath("a[").steps == [.member("a", thenMember: false)])
        #expect(try JSONPath("a[").end == .member(""))
        #expect(try JSONPath("a[0][").end == .member(""))
        #expect(try JSONPath("a..b").steps == [.member("a", thenMember: true), .member("", thenMember: true)])
        #expect(try JSONPath("a]b c").end == .member("a]b c"))
    }

    @Test func readsIndexesAsStrtolDoes() throws {
        let cases: [(String, Int?)] = [("[0]", 0), ("[0x1]", 1), ("[010]", 8), ("[ 1]", 1), ("[+2]", 2), ("[]", 0), ("[-1]", nil), ("[-0]", 0)]
        for (text, index) in cases {
            #expect(try JSONPath(text).steps == [.element(index)], "\(text)")
        }
        #expect(throws: JSONPath.Malformed.badIndex("1 ")) { try JSONPath("a[1 ]") }
        #expect(throws: JSONPath.Malformed.badIndex("x")) { try JSONPath("a[x]") }
        #expect(throws: JSONPath.Malformed.badIndex("0.5")) { try JSONPath("a[0.5]") }
        #expect(throws: JSONPath.Malformed.unclosedIndex) { try JSONPath("a[1") }
        #expect(throws: JSONPath.Malformed.unclosedIndex) { try JSONPath("[") }
        #expect(throws: JSONPath.Malformed.textAfterIndex) { try JSONPath("a[0]x.y") }
        #expect(try JSONPath("a[0]x").trailingText)
        #expect(try !JSONPath("a[0].x").trailingText)
    }

    /// jansson_get's result for `path` in `json`: nil when it fails.
    func get(_ path: String, _ json: String) throws -> Value? {
        let document = try JSONValue(parsing: json)
        guard let p = try? JSONPath(path) else { return nil }
        return document.ref.find(p)?.scriptValue
    }

    @Test func readingFollowsKamailio() throws {
        let doc = #"{"a":{"b":"x","c":[1,2.5,true,false,null,"s"]},"":{"k":5},"big":2147483648,"max":2147483647}"#
        #expect(try get("a.b", doc) == .string("x"))
        #expect(try get("a.c", doc) == .string(#"[1,2.5,true,false,null,"s"]"#))
        #expect(try get("a.c[0]", doc) == .int(1))
        #expect(try get("a.c[1]", doc) == .string("2.5"))
        #expect(try get("a.c[2]", doc) == .int(1))
        #expect(try get("a.c[3]", doc) == .int(0))
        #expect(try get("a.c[4]", doc) == .null)
        #expect(try get("a.c[6]", doc) == nil)
        #expect(try get("a.c[-1]", doc) == nil)
        #expect(try get("a.c[", doc) == .string(#"[1,2.5,true,false,null,"s"]"#))
        #expect(try get("a.", doc) == .string(#"{"b":"x","c":[1,2.5,true,false,null,"s"]}"#))
        #expect(try get(".k", doc) == .int(5))
        #expect(try get("a.c[1]x", doc) == nil)
        #expect(try get("missing", doc) == nil)
        #expect(try get("a.b.c", doc) == nil)
        #expect(try get("a[0]", doc) == nil)
        #expect(try get("max", doc) == .int(2147483647))
        #expect(try get("big", doc) == .string("2147483648"))
        #expect(try get("", "[7,[9]]") == .string("[7,[9]]"))
        #expect(try get("[1][0]", "[7,[9]]") == .int(9))
        #expect(try get("r", #"{"r":3.141592653589793}"#) == .string("3.14159265358979"))
        #expect(try get("r", #"{"r":1e2}"#) == .string("100"))
        #expect(try get("s", #"{"s":"caf\u00e9 \"q\"\n"}"#) == .string("café \"q\"\n"))
        #expect(try get("o", #"{"o":{"z":1,"m":"\u00e9/\u0001\t"}}"#) == .string(#"{"z":1,"m":"é/\u0001\t"}"#))
    }

    @Test func documentsThatAreNotObjectsOrArraysOrRepeatKeysAreRefused() {
        for text in ["", "not json", #""str""#, "5", #"{"a":1"#, #"{"a":1,"a":2}"#, "{'a':1}"] {
            #expect(throws: JSONError.self, "\(text)") { _ = try JSONValue(parsing: text) }
        }
    }

    /// jansson_set / jansson_append of `value` (given as `type`) at `path` into `json`:
    /// the document after, or nil when it fails.
    func store(_ type: String, _ path: String, _ value: String, _ json: String, append: Bool = false) throws -> String? {
        let document = try JSONValue(parsing: json)
        guard let t = JSONType(named: type), let v = try? t.value(from: value), let p = try? JSONPath(path) else { return nil }
        do { try document.ref.store(v, at: p, append: append) } catch { return nil }
        return document.ref.text(.compact)
    }

    @Test func writingFollowsKamailio() throws {
        #expect(try store("str", "a.b.c", "deep", "{}") == #"{"a":{"b":{"c":"deep"}}}"#)
        #expect(try store("str", "a.b.c", "deep", #"{"a":5}"#) == nil)
        #expect(try store("str", "a[1]", "x", #"{"a":[1,2]}"#) == #"{"a":[1,"x"]}"#)
        #expect(try store("str", "a[2]", "x", #"{"a":[1,2]}"#) == nil)
        #expect(try store("str", "a[0]", "x", "{}") == nil)
        #expect(try store("str", "a[0]x", "y", #"{"a":[1,2]}"#) == #"{"a":["y",2]}"#)
        #expect(try store("str", "a[0].", "y", #"{"a":[1,2]}"#) == #"{"a":["y",2]}"#)
        #expect(try store("str", "", "y", #"{"a":1}"#) == nil)
        #expect(try store("str", "a.", "y", #"{"a":{}}"#) == nil)
        #expect(try store("str", "a..b", "y", #"{"a":{}}"#) == nil)
        #expect(try store("str", "[0]", "y", "[1,2]") == #"["y",2]"#)
        #expect(try store("str", "z", "1", #"{"b":1,"a":2}"#) == #"{"b":1,"a":2,"z":"1"}"#)
        #expect(try store("str", "a", "1", #"{"b":1,"a":2}"#) == #"{"b":1,"a":"1"}"#)
        #expect(try store("int", "b[", "9", #"{"a":[1]}"#) == nil)
        #expect(try store("real", "pi", "3.14159", "{}") == #"{"pi":3.1415899999999999}"#)
        #expect(try store("real", "pi", "1", "{}") == #"{"pi":1.0}"#)
        #expect(try store("real", "pi", "inf", "{}") == nil)
        #expect(try store("int", "n", "", "{}") == #"{"n":0}"#)
        #expect(try store("int", "n", "99999999999999999999", "{}") == #"{"n":9223372036854775807}"#)
        #expect(try store("int", "n", "12 ", "{}") == nil)
        #expect(try store("int", "n", "0x10", "{}") == nil)
        #expect(try store("true", "t", "ignored", "{}") == #"{"t":true}"#)
        #expect(try store("obj", "o", "[1]", "{}") == nil)
        #expect(try store("array", "l", "[0,1]", "{}") == #"{"l":[0,1]}"#)
        #expect(try store("str", "s", "é\"\\ / \u{1}", "{}") == #"{"s":"é\"\\ / \u0001"}"#)
    }

    @Test func appendingFollowsKamailio() throws {
        #expect(try store("int", "", "4", "[0,1]", append: true) == "[0,1,4]")
        #expect(try store("int", "list", "5", #"{"list":[0,1]}"#, append: true) == #"{"list":[0,1,5]}"#)
        #expect(try store("obj", "", #"{"a":1,"b":100}"#, #"{"b":2,"c":3}"#, append: true) == #"{"b":100,"c":3,"a":1}"#)
        #expect(try store("int", "o", "1", #"{"o":{"b":2}}"#, append: true) == nil)
        #expect(try store("int", "missing", "1", "{}", append: true) == nil)
        // An index at the end replaces the element; `.` or `[` after it appends inside it.
        #expect(try store("int", "a[0]", "9", #"{"a":[[1],2]}"#, append: true) == #"{"a":[9,2]}"#)
        #expect(try store("int", "a[0].", "9", #"{"a":[[1],2]}"#, append: true) == #"{"a":[[1,9],2]}"#)
        #expect(try store("int", "a[", "9", #"{"a":[1]}"#, append: true) == #"{"a":[1,9]}"#)
        #expect(try store("array", "", "[3,4]", "[1,2]", append: true) == "[1,2,[3,4]]")
        #expect(try store("str", "l", "x", #"{"l":"s"}"#, append: true) == nil)
    }
}
