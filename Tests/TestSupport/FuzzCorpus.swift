import Foundation

/// A fuzz target's corpus in the source tree (`Fuzz/corpus/<target>`), for the tests that
/// replay it through the target's own entry point (`make fuzz` builds the same entry points).
public enum FuzzCorpus {
    /// The corpus folder of `target`, with a trailing slash.
    public static func directory(_ target: String) -> String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(target)").path + "/"
    }

    /// The corpus files of `target`, sorted by name.
    public static func files(_ target: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory(target))) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The bytes of one corpus file.
    public static func contents(_ target: String, _ name: String) -> Data? {
        FileManager.default.contents(atPath: directory(target) + name)
    }
}
