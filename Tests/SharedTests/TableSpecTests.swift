import Testing
@testable import Shared

/// The modparam strings of `pv` `shvset` and `htable` `htable`.
@Suite struct TableSpecTests {
    @Test func goodShvsetSpecs() throws {
        #expect(try ShvsetSpec.parse("debug=i:1") == ShvsetSpec(name: "debug", value: .int(1)))
        #expect(try ShvsetSpec.parse(" n = i: -42 ") == ShvsetSpec(name: "n", value: .int(-42)))
        #expect(try ShvsetSpec.parse("gw=s:sip:a=b@x") == ShvsetSpec(name: "gw", value: .string("sip:a=b@x")))
        #expect(try ShvsetSpec.parse("e=s:") == ShvsetSpec(name: "e", value: .string("")))
    }

    @Test(arguments: [
        ("debug", "expected name=i:<integer> or name=s:<text>"),
        ("=i:1", "empty shared variable name"),
        ("x=i:abc", "'abc' is not an integer"),
        ("x=i:", "'' is not an integer"),
        ("x=1", "the value must start with i: (integer) or s: (string)"),
        ("x=q:1", "the value must start with i: (integer) or s: (string)"),
        (String(repeating: "v", count: 32) + "=i:1", "is longer than 31 bytes"),
        ("a b=i:1", "contains spaces or parentheses"),
    ])
    func badShvsetSpecs(spec: String, message: String) {
        #expect {
            _ = try ShvsetSpec.parse(spec)
        } throws: { error in
            let e = error as? SpecError
            return e?.spec == spec && e?.message.contains(message) == true
        }
    }

    @Test func goodHtableSpecs() throws {
        #expect(try HashTableSpec.parse("a=>size=8;autoexpire=0;initval=0")
            == HashTableSpec(name: "a", sizeLog2: 8, autoexpireSeconds: 0, initialValue: 0))
        #expect(try HashTableSpec.parse("b=>autoexpire=300") == HashTableSpec(name: "b", sizeLog2: 4, autoexpireSeconds: 300))
        #expect(try HashTableSpec.parse("c") == HashTableSpec(name: "c"))
        #expect(try HashTableSpec.parse("d=>") == HashTableSpec(name: "d"))
        #expect(try HashTableSpec.parse(" e => size = 1 ; initval = -3 ;") == HashTableSpec(name: "e", sizeLog2: 1, initialValue: -3))
        #expect(try HashTableSpec.parse("f=>size=14").sizeLog2 == 14)
        let g = try HashTableSpec.parse("g=>size=4;dbtable=htable_g;dbmode=1;")
        #expect(g.dbTable == "htable_g" && g.dbMode == 1)
    }

    @Test(arguments: [
        ("=>size=4", "empty hash table name"),
        ("a=>color=red", "unknown parameter 'color' (known: size, autoexpire, initval, dbtable, dbmode)"),
        ("a=>dbtable=x;drop table y", "'drop table y' is not key=value"),
        ("a=>dbtable=x y", "dbtable 'x y' is not a table name"),
        ("a=>dbmode=2", "dbmode must be 0 (load only) or 1"),
        ("a=>size=big", "size 'big' is not an integer"),
        ("a=>size=0", "size must be 1..14"),
        ("a=>size=15", "size must be 1..14"),
        ("a=>autoexpire=-1", "autoexpire must be 0 (never) or a number of seconds"),
        ("a=>initval=1.5", "initval '1.5' is not an integer"),
        ("a=>size", "'size' is not key=value"),
        ("a=>size=4;size=5", "'size' given twice"),
        ("a=size=4", "expected name=>size=N;autoexpire=N;initval=N"),
    ])
    func badHtableSpecs(spec: String, message: String) {
        #expect {
            _ = try HashTableSpec.parse(spec)
        } throws: { error in
            let e = error as? SpecError
            return e?.spec == spec && e?.message.contains(message) == true
        }
    }

    @Test func aTableDefinedTwiceIsRejected() throws {
        #expect(try HashTableSpec.parseAll(["a=>size=2", "b"]).map(\.name) == ["a", "b"])
        #expect(throws: SpecError(spec: "a=>size=3", "hash table 'a' is already defined")) {
            _ = try HashTableSpec.parseAll(["a=>size=2", "a=>size=3"])
        }
        #expect(SpecError(spec: "x", "why").description == "'x': why")
    }
}
