/// The bounds the loader and the interpreter put on what a config can make them do. A config
/// is input like any other: none of these is reached by a hand-written file, and each one turns
/// what would be a stack overflow, or time or memory growing faster than the file, into a
/// `file:line:column` error (or, at run time, a logged error).
public enum ScriptLimits {
    /// How deeply statements and expressions may nest in one route: every statement inside
    /// another (`if`, `while`, `switch`, `{ }`) is a level, and so is every node of an
    /// expression's tree (an operator, a function call) and every parenthesis. The parser,
    /// the resolver and the interpreter all recurse along this nesting, so bounding it in the
    /// parser bounds their stacks too. 256 is far beyond a hand-written route (Kamailio's own
    /// interpreter gives up at 100 nested action lists); loading the deepest file the parser
    /// accepts takes about 2 MB of stack in a debug build (far less in release), a quarter of
    /// the main thread's 8 MB.
    public static let maxNesting = 256

    /// How deeply a variable's name may hold other variables: `$sht(t=>$var(k))` is 2. The
    /// resolver parses each level's name again, so the bound also keeps that work linear.
    public static let maxVariableNesting = 16

    /// How deeply `include_file` / `import_file` may nest: Kamailio's `MAX_INCLUDE_DEPTH`. It
    /// also stops `include_file "../dir/self.cfg"`, which names the same file by ever longer
    /// paths and so escapes the include-loop check.
    public static let maxIncludeDepth = 10

    /// The most tokens one use of a `#!define` may expand to. Defines may use other defines,
    /// so 32 of them, each using the next twice, would otherwise expand to 2^32 tokens.
    public static let maxDefineExpansion = 65_536

    /// The errors a load reports before it stops with "too many errors, stopping". A file with
    /// thousands of mistakes (a stray brace on every line) gets a bounded report, in time linear
    /// in its size; 50 is more than the mistakes of any real edit, and the first errors are
    /// the ones that matter.
    public static let maxErrors = 50

    /// The warnings a load reports before it says that it shows no more.
    public static let maxWarnings = 50

    /// How much nesting the interpreter may have on its stack at once, across `route(X)` calls:
    /// each route entered adds the deepest nesting of its body (as counted for `maxNesting`,
    /// variable names included). A route call that would go beyond is not run and logs an
    /// error, as Kamailio's "too many recursive routing table lookups" does; so a route calling
    /// itself without end fails cleanly instead of overflowing the worker's stack. A route as
    /// deep as the parser accepts can call one more like it, a small one recurse more than a
    /// hundred times (Kamailio stops at 100). A debug build's interpreter takes up to 3.5 KB
    /// of stack a level, so this is at most about 2 MB of the main thread's 8 MB; a release
    /// build takes far less (`NestingLimitsTests` runs the worst case).
    public static let maxRunNesting = 2 * (maxNesting + maxVariableNesting + 1)
}
