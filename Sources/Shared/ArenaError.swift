/// Why an arena could not be created, opened or used.
public enum ArenaError: Error, CustomStringConvertible, Equatable {
    /// A system call failed.
    case system(SystemCallError)
    /// No shared-memory object of that name.
    case notFound(name: String)
    /// The object exists but is not a Respite arena, or is damaged.
    case corrupt(name: String, reason: String)
    /// The arena has no room for the request.
    case outOfMemory(requested: Int)
    /// A named section is missing.
    case missingSection(String)
    /// The layout asked for cannot fit or is malformed.
    case invalidLayout(String)

    public var description: String {
        switch self {
        case .system(let e): return e.description
        case .notFound(let name): return "no shared-memory object named \(name)"
        case .corrupt(let name, let reason): return "\(name) is not a valid Respite arena: \(reason)"
        case .outOfMemory(let n): return "arena out of memory (requested \(n) bytes)"
        case .missingSection(let s): return "arena has no section '\(s)'"
        case .invalidLayout(let why): return "invalid arena layout: \(why)"
        }
    }
}
