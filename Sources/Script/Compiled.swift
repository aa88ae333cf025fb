#if canImport(Glibc)
import Glibc
#endif

/// The resolved forms the interpreter runs. Every name is already an index or a closure.

/// A place in the compiled program: action `action` of action list `block`. Two plain integers,
/// so a suspended transaction can keep one in shared memory and another process resume there.
public struct ResumePoint: Sendable, Hashable, CustomStringConvertible {
    public var block: Int32
    public var action: Int32

    public init(block: Int32, action: Int32) {
        self.block = block
        self.action = action
    }

    public var description: String { "(\(block), \(action))" }
}

/// What a statement tells the one that runs it.
public enum Flow: Sendable, Equatable {
    /// Go on with the next action.
    case next
    /// Stop the script (`exit`, a function returning 0, `return 0`).
    case exit
    /// Stop and drop (`drop`): in a branch or reply route, the branch or reply is dropped.
    case drop
    /// `return n` left the current route.
    case `return`(Int)
    /// `break` left the current `switch` or `while`.
    case `break`
}

indirect enum CExpr: Sendable {
    case constant(Value)
    /// `$var(name)`: a slot of the per-process store.
    case localVar(Int)
    case variable(CompiledVariable)
    case transformed(CExpr, [Transformation])
    case format([FormatPart])
    case call(CompiledCall)
    case route(RouteTarget)
    case not(CExpr)
    case negate(CExpr)
    case bitNot(CExpr)
    case and(CExpr, CExpr)
    case or(CExpr, CExpr)
    case binary(BinaryOp, CExpr, CExpr)
    /// `=~` / `!~` with a pattern compiled at load time.
    case match(CExpr, CompiledRegex, negated: Bool)
    /// `=~` / `!~` with a pattern known only at run time.
    case dynamicMatch(CExpr, CExpr, negated: Bool)
    /// The casts and word operators: `(int)`, `(str)`, `defined`, `strempty`, `strlen`.
    case unary(UnaryOp, CExpr)
    /// `uri == myself`, `src_ip != myself`: the runtime's check of the value.
    case myself(CExpr, MyselfSubject, MyselfCheck, negated: Bool)
}

enum FormatPart: Sendable {
    case literal(String)
    case value(CExpr)
}

struct CompiledVariable: Sendable {
    var spec: VariableClassSpec
    var name: VariableName
    /// Set when the inner name holds variables; formatted at each access.
    var dynamicName: [FormatPart]?
    /// Set when the index is a variable (`[$var(i)]`); read at each access.
    var dynamicIndex: [FormatPart]? = nil
    var text: String
}

enum RouteTarget: Sendable {
    case fixed(Int)
    case dynamic(CExpr, RouteTable, SourceLocation)
}

/// A class, made once at load: running a call retains it once instead of copying its parts.
final class CompiledCall: Sendable {
    let body: FunctionBody
    let args: CallArgs
    let name: String

    init(body: @escaping FunctionBody, args: CallArgs, name: String) {
        self.body = body
        self.args = args
        self.name = name
    }
}

enum AssignTarget: Sendable {
    case localVar(Int)
    case variable(CompiledVariable)
}

struct SwitchTable: Sendable {
    /// Case value and the index in `body` where its statements start.
    var cases: [(Value, Int)]
    var defaultStart: Int?
    var body: Int
}

/// Indirect: the interpreter takes an action out of its block with one retain, not a
/// copy of every part of it.
indirect enum Action: Sendable {
    case call(CompiledCall)
    case evaluate(CExpr)
    case assign(AssignTarget, CExpr, SourceLocation)
    case ifElse(CExpr, then: Int, otherwise: Int?)
    case switchOn(CExpr, SwitchTable)
    case whileLoop(CExpr, body: Int, SourceLocation)
    case returnValue(CExpr?)
    case exit
    case drop
    case breakOut
    /// `break` outside a switch or while: ends the route with code 0 (`.return(0)`).
    case leaveRoute
    case block(Int)
}

/// A route of the compiled program.
public struct CompiledRoute: Sendable {
    public var type: RouteType
    public var name: String?
    public var table: RouteTable?
    /// The action list the route starts with.
    public var block: Int
    public var location: SourceLocation
    /// The deepest nesting of its body (statements, expression nodes, variable names), which
    /// bounds what running it puts on the stack (`ScriptLimits.maxRunNesting`).
    public var nesting = 0
}

/// A POSIX extended regular expression compiled once (`regcomp`); `regexec` is reentrant.
final class CompiledRegex: @unchecked Sendable {
    private var regex = regex_t()
    let pattern: String

    /// nil and an error message when the pattern does not compile.
    init?(_ pattern: String, error: inout String) {
        self.pattern = pattern
        // Kamailio compiles `=~` patterns with REG_EXTENDED | REG_NOSUB | REG_ICASE.
        let rc = regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB | REG_ICASE)
        if rc != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(rc, &regex, &buffer, buffer.count)
            error = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return nil
        }
    }

    deinit { regfree(&regex) }

    func matches(_ s: String) -> Bool {
        regexec(&regex, s, 0, nil, 0) == 0
    }
}
