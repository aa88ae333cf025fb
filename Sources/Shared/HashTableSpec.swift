import CShared

/// One `modparam("htable", "htable", "a=>size=8;autoexpire=0;initval=0")`: a shared
/// hash table the master creates before it forks.
public struct HashTableSpec: Equatable, Sendable {
    /// The table's name, as in `$sht(name=>key)`.
    public var name: String
    /// log2 of the bucket count, 1...14 (Kamailio's `size`); default 4.
    public var sizeLog2: Int
    /// Seconds an item lives after its last set or increment; 0 = for ever.
    public var autoexpireSeconds: Int
    /// What a missing key reads as; nil = `$null`.
    public var initialValue: Int?
    /// The database table loaded into it at start (`dbtable`), with htable's `db_url`.
    public var dbTable: String?
    /// 1: the table is written back to `dbTable` when the server stops (`dbmode`).
    public var dbMode = 0

    public static let defaultSizeLog2 = 4
    public static let sizeRange = Int(CS_HTABLE_SIZE_MIN)...Int(CS_HTABLE_SIZE_MAX)
    /// Longest table name (bytes).
    public static let maxNameBytes = Int(CS_HTABLE_NAME_MAX) - 1

    public init(name: String, sizeLog2: Int = HashTableSpec.defaultSizeLog2, autoexpireSeconds: Int = 0,
                initialValue: Int? = nil) {
        self.name = name
        self.sizeLog2 = sizeLog2
        self.autoexpireSeconds = autoexpireSeconds
        self.initialValue = initialValue
    }

    /// Parses `name=>key=value;key=value` with the keys `size`, `autoexpire`, `initval`,
    /// `dbtable` and `dbmode` (a bare `name` takes the defaults). Empty `;` segments are
    /// allowed.
    public static func parse(_ spec: String) throws(SpecError) -> HashTableSpec {
        let name: String
        let attributes: Substring
        if let arrow = spec.indices.first(where: { spec[$0...].hasPrefix("=>") }) {
            name = spec[..<arrow].trimmingSpaces
            attributes = spec[spec.index(arrow, offsetBy: 2)...]
        } else {
            name = Substring(spec).trimmingSpaces
            attributes = ""
            if name.contains("=") || name.contains(";") {
                throw SpecError(spec: spec, "expected name=>size=N;autoexpire=N;initval=N")
            }
        }
        try ShvsetSpec.checkName(name, spec: spec, what: "hash table")
        var result = HashTableSpec(name: name)
        var seen: Set<String> = []
        for part in attributes.split(separator: ";", omittingEmptySubsequences: true) {
            if part.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let eq = part.firstIndex(of: "=") else {
                throw SpecError(spec: spec, "'\(part.trimmingSpaces)' is not key=value")
            }
            let key = part[..<eq].trimmingSpaces
            let text = part[part.index(after: eq)...].trimmingSpaces
            guard ["size", "autoexpire", "initval", "dbtable", "dbmode"].contains(key) else {
                throw SpecError(spec: spec, "unknown parameter '\(key)' (known: size, autoexpire, initval, dbtable, dbmode)")
            }
            guard seen.insert(key).inserted else { throw SpecError(spec: spec, "'\(key)' given twice") }
            if key == "dbtable" {
                // It goes into SQL text: a name, nothing else.
                guard !text.isEmpty, text.utf8.allSatisfy({ $0 == 0x5f || $0 == 0x2e || (0x30...0x39).contains($0)
                        || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }) else {
                    throw SpecError(spec: spec, "dbtable '\(text)' is not a table name (letters, digits, _ and .)")
                }
                result.dbTable = String(text)
                continue
            }
            guard let number = Int(text) else {
                throw SpecError(spec: spec, "\(key) '\(text)' is not an integer")
            }
            switch key {
            case "size":
                guard sizeRange.contains(number) else {
                    throw SpecError(spec: spec, "size must be \(sizeRange.lowerBound)..\(sizeRange.upperBound) (log2 of the bucket count), got \(number)")
                }
                result.sizeLog2 = number
            case "autoexpire":
                guard number >= 0, number <= Int(UInt32.max) else {
                    throw SpecError(spec: spec, "autoexpire must be 0 (never) or a number of seconds, got \(number)")
                }
                result.autoexpireSeconds = number
            case "dbmode":
                guard number == 0 || number == 1 else {
                    throw SpecError(spec: spec, "dbmode must be 0 (load only) or 1 (write back when stopping), got \(number)")
                }
                result.dbMode = number
            default:
                result.initialValue = number
            }
        }
        return result
    }

    /// Parses every `htable` modparam of a config, rejecting a table defined twice.
    public static func parseAll(_ specs: [String]) throws(SpecError) -> [HashTableSpec] {
        var result: [HashTableSpec] = []
        var names: Set<String> = []
        for s in specs {
            let spec = try parse(s)
            guard names.insert(spec.name).inserted else {
                throw SpecError(spec: s, "hash table '\(spec.name)' is already defined")
            }
            result.append(spec)
        }
        return result
    }
}
