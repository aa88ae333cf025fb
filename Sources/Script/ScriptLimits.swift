/// The bounds the loader and the interpreter put on what a config can make them do. A config
/// is input like any other: none of these is reached by a hand-written file, and each one turns
/// what would be a stack overflow, or time or memory growing faster than the file, into a
/// `file:line:column` error (or, at run time, a logged error).
public enum ScriptLimits {
    /// The errors a load reports before it stops with "too many errors, stopping". A file with
    /// thousands of mistakes (a stray brace on every line) gets a bounded report, in time linear
    /// in its size; 50 is more than the mistakes of any real edit, and the first errors are
    /// the ones that matter.
    public static let maxErrors = 50

    /// The warnings a load reports before it says that it shows no more.
    public static let maxWarnings = 50
}
