import Database
import Script
import Testing

@testable import Runtime

/// sqlops' query compiler: the SQL text it sends never holds a script value; variables
/// become `?` parameters, a quoted literal with variables one text parameter.
@Suite struct SQLTemplateTests {
    static func compile(_ pieces: [ArgPiece]) -> Result<SQLTemplate, SQLOpsError> { SQLTemplate.compile(pieces) }

    @Test func aVariableInsideAQuotedLiteralMakesTheWholeLiteralOneParameter() throws {
        let t = try Self.compile([.text("select id from subscriber where username='"), .value,
                                  .text("' and domain='x@"), .value, .text(".com' and id > "), .value, .text(" and a = 'it''s'")]).get()
        #expect(t.sql == "select id from subscriber where username=? and domain=? and id > ? and a = 'it''s'")
        #expect(t.parameters == [.literal([.value(0)]), .literal([.text("x@"), .value(1), .text(".com")]), .value(2)])
        let nasty = "o'brien; DROP TABLE subscriber; --\u{0}tail"
        let bound = t.bind([.string(nasty), .string("example"), .int(7)])
        #expect(bound == [.text(nasty), .text("x@example.com"), .int(7)])
    }

    @Test func aBareVariableIsAnIntegerWhenItHoldsOneElseText() throws {
        let t = try Self.compile([.text("update t set a = "), .value, .text(", b = "), .value, .text(", c = "), .value]).get()
        #expect(t.sql == "update t set a = ?, b = ?, c = ?")
        #expect(t.bind([.int(-3), .string("12"), .null]) == [.int(-3), .text("12"), .text("<null>")])
    }

    @Test func quotesInsideALiteralAreUnescapedIntoTheParameter() throws {
        let t = try Self.compile([.text("select 'a''b"), .value, .text("c'''")]).get()
        #expect(t.sql == "select ?")
        #expect(t.bind([.string("-")]) == [.text("a'b-c'")])
    }

    @Test func commentsAndIdentifiersStayAsWritten() throws {
        let t = try Self.compile([.text("select \"we'ird\" -- it's\n, `x` /* 'q */ from t where a = "), .value]).get()
        #expect(t.sql == "select \"we'ird\" -- it's\n, `x` /* 'q */ from t where a = ?")
        #expect(t.parameters == [.value(0)])
        let plain = try Self.compile([.text("select 1")]).get()
        #expect(plain.sql == "select 1" && plain.parameters.isEmpty)
    }

    @Test func unsafeShapesAreRefusedAtLoad() {
        let cases: [([ArgPiece], String)] = [
            ([.value], "cannot hold the whole statement"),
            ([.text(""), .value, .text("")], "cannot hold the whole statement"),
            ([.text("select \""), .value, .text("\" from t")], "quoted identifier"),
            ([.text("select 1 -- "), .value], "comment"),
            ([.text("select 1 /* "), .value, .text(" */")], "comment"),
            ([.text("select ? from t")], "'?'"),
            ([.text("select 'abc from t")], "not closed"),
            ([.text("select 1 /* x")], "not closed"),
            ([.text("select \"x from t")], "not closed"),
        ]
        for (pieces, needle) in cases {
            switch Self.compile(pieces) {
            case .success(let t): Issue.record("\(pieces) compiled to \(t.sql)")
            case .failure(let e): #expect(e.message.contains(needle), "\(pieces): \(e.message)")
            }
        }
    }

    @Test func resultKeysParseAsKamailioWritesThem() throws {
        let rows = try SQLResultKey.parse("ra=>rows").get()
        #expect(rows.result == "ra" && rows.key == .rows)
        #expect(try SQLResultKey.parse("ra=>cols").get().key == .cols)
        #expect(try SQLResultKey.parse("ra=>[2, 3]").get().key == .cell(2, 3))
        let name = try SQLResultKey.parse("r_1=>colname[4]").get()
        #expect(name.result == "r_1" && name.key == .columnName(4))
        for bad in ["ra", "ra=>row", "ra=>[1]", "ra=>[a,1]", "=>rows", "r a=>rows", "ra=>colname[x]"] {
            if case .success = SQLResultKey.parse(bad) { Issue.record("'\(bad)' parsed") }
        }
    }

    @Test func queuedStatementsSurviveTheirEncoding() {
        let s = QueuedStatement(connection: "ca", sql: "update t set a = ? where b = ?",
                                parameters: [.text("x'\u{0};y"), .int(-9), .null, .double(1.5), .blob([0, 255])])
        #expect(QueuedStatement(decoding: s.encoded) == s)
        #expect(QueuedStatement(decoding: Array(s.encoded.dropLast(1))) == nil)
        #expect(QueuedStatement(decoding: [1, 0]) == nil)
    }

    @Test func connectionsAreNameArrowURL() {
        let con = try? SQLOpsSettings.parseConnection("ca => sqlite:////tmp/x.db").get()
        #expect(con?.0 == "ca" && con?.1 == "sqlite:////tmp/x.db")
        for bad in ["ca", "=>sqlite:////tmp/x", "c a=>sqlite:////tmp/x", "ca=>mysql://u@h/db"] {
            if case .success = SQLOpsSettings.parseConnection(bad) { Issue.record("'\(bad)' parsed") }
        }
    }
}
