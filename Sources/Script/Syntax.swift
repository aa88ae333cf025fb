/// The syntax tree, as the parser builds it: names are still names, nothing is checked.
/// The resolver turns it into a `Program`, a different type, so the runner never sees it.

/// A whole configuration file, with its includes already spliced in.
public struct ConfigSyntax: Sendable {
    public var coreParams: [CoreParamSyntax] = []
    public var modules: [LoadModuleSyntax] = []
    public var modparams: [ModParamSyntax] = []
    public var routes: [RouteSyntax] = []
}

public struct CoreParamSyntax: Sendable {
    public var name: String
    public var value: ConfigValue
    /// The value's text as written (`udp:127.0.0.1:5060`), for kinds that take raw text.
    public var raw: String
    public var location: SourceLocation
    public var valueLocation: SourceLocation
}

public struct LoadModuleSyntax: Sendable {
    public var path: String
    public var location: SourceLocation
}

public struct ModParamSyntax: Sendable {
    public var module: String
    public var param: String
    public var value: ConfigValue
    public var location: SourceLocation
    public var valueLocation: SourceLocation
}

/// A value in a core parameter or `modparam`: Kamailio has integers and strings.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return "\"\(s)\""
        }
    }

    /// The value as written, without quotes.
    public var text: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}

public struct RouteSyntax: Sendable {
    /// `.request`, `.failure`, ...; `route[X]` has `.subroute`.
    public var type: RouteType
    /// `nil` for the main route of its type (`request_route`, `reply_route`).
    public var name: String?
    public var body: [Statement]
    public var location: SourceLocation
}

/// A pseudo-variable as written: `$class(inner)[index]` with optional transformations.
public struct VariableSyntax: Sendable {
    public enum Index: Sendable, Equatable {
        case at(Int)
        case all
        /// `[$var(i)]`: a variable, read each time the indexed variable is; the getter
        /// and setter always receive `.at(n)` (see `Program.variableName`).
        case dynamic(String)
    }

    public var className: String
    public var inner: String?
    public var index: Index?
    public var transforms: [TransformSyntax]
    public var text: String
    public var location: SourceLocation
}

/// `{s.substr,1,2}`: the name and its raw parameters.
public struct TransformSyntax: Sendable {
    public var name: String
    public var params: [String]
    public var location: SourceLocation
}

/// A function call: `name(args)` or a bare `name`.
public struct CallSyntax: Sendable {
    public var name: String
    public var args: [Expr]
    public var location: SourceLocation
}

public enum UnaryOp: Sendable {
    case not, negate, bitNot
    /// `(int)x`, `(str)x`: Kamailio's casts.
    case toInt, toStr
    /// `defined x`: true unless x is null.
    case defined
    /// `strempty(x)`, `strlen(x)`: the string form is empty / its length in bytes.
    case strEmpty, strLen
}

public enum BinaryOp: String, Sendable {
    case or = "||", and = "&&", bitOr = "|", bitAnd = "&"
    case eq = "==", ne = "!=", match = "=~", noMatch = "!~"
    case lt = "<", gt = ">", le = "<=", ge = ">="
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
}

public enum AssignOp: String, Sendable { case set = "=", colonSet = ":=", add = "+=", sub = "-=" }

public indirect enum Expr: Sendable {
    case int(Int, SourceLocation)
    case string(String, SourceLocation)
    /// A bare word where a name is expected: `route(NAME)`.
    case name(String, SourceLocation)
    case null(SourceLocation)
    case variable(VariableSyntax)
    case call(CallSyntax)
    case unary(UnaryOp, Expr, SourceLocation)
    case binary(BinaryOp, Expr, Expr, SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .int(_, let l), .string(_, let l), .name(_, let l), .null(let l): return l
        case .variable(let v): return v.location
        case .call(let c): return c.location
        case .unary(_, _, let l), .binary(_, _, _, let l): return l
        }
    }
}

public struct SwitchCaseSyntax: Sendable {
    /// `nil` for `default`.
    public var value: Expr?
    public var body: [Statement]
    public var location: SourceLocation
}

public indirect enum Statement: Sendable {
    case call(CallSyntax)
    case expression(Expr, SourceLocation)
    case assign(VariableSyntax, AssignOp, Expr, SourceLocation)
    case ifElse(Expr, [Statement], [Statement]?, SourceLocation)
    case switchOn(Expr, [SwitchCaseSyntax], SourceLocation)
    case whileLoop(Expr, [Statement], SourceLocation)
    case returnValue(Expr?, SourceLocation)
    case exit(SourceLocation)
    case drop(SourceLocation)
    case breakOut(SourceLocation)
    case block([Statement], SourceLocation)
}
